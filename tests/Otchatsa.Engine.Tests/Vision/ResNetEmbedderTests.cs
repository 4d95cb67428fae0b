using Microsoft.ML.OnnxRuntime;
using Otchatsa.Numerics;
using Otchatsa.Pipeline;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Tests.Vision;

public sealed class ResNetEmbedderTests : IClassFixture<ModelFixture>
{
    private readonly ModelFixture _models;

    public ResNetEmbedderTests(ModelFixture models) => _models = models;

    [Fact]
    public void Input_preparation_matches_the_packages_own_preprocessing_graph()
    {
        using var view = TestImages.Noise(ResNetEmbedder.InputSize, ResNetEmbedder.InputSize, seed: 7);
        var ours = new float[3 * 224 * 224];
        _models.Embedder.FillInput(view, ours);

        // Feed the same pixels, as RGB planes 0-255, through ResNetPreprocess.onnx.
        var rgb = new float[3 * 224 * 224];
        var pixels = view.GetPixelSpan();
        for (var i = 0; i < 224 * 224; i++)
        {
            rgb[i] = pixels[i * 4];
            rgb[224 * 224 + i] = pixels[i * 4 + 1];
            rgb[2 * 224 * 224 + i] = pixels[i * 4 + 2];
        }
        using var session = new InferenceSession(_models.Paths.ResNetPreprocess);
        using var input = OrtValue.CreateTensorValueFromMemory(rgb, [1, 3, 224, 224]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [input], [session.OutputNames[0]]);
        var reference = outputs[0].GetTensorDataAsSpan<float>();

        var maxError = 0f;
        for (var i = 0; i < ours.Length; i++)
        {
            maxError = Math.Max(maxError, Math.Abs(ours[i] - reference[i]));
        }
        Assert.True(maxError < 1e-4f, $"max abs difference {maxError}");
    }

    [Fact]
    public void Embeddings_have_unit_length_and_512_dimensions()
    {
        using var view = TestImages.Noise(224, 224, seed: 1);
        var embedding = _models.Embedder.Embed(view);
        Assert.Equal(512, embedding.Length);
        Assert.Equal(1.0, Math.Sqrt(embedding.Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public void Similar_pictures_are_closer_than_different_ones()
    {
        using var red = TestImages.Solid(224, 224, new SKColor(200, 30, 30));
        using var darkRed = TestImages.Solid(224, 224, new SKColor(180, 20, 25));
        using var noise = TestImages.Noise(224, 224, seed: 3);
        var a = _models.Embedder.Embed(red);
        var b = _models.Embedder.Embed(darkRed);
        var c = _models.Embedder.Embed(noise);
        Assert.True(VectorMath.Dot(a, b) > VectorMath.Dot(a, c) + 0.1f);
    }

    [Fact]
    public void Flip_averaging_gives_the_same_embedding_for_a_mirrored_picture()
    {
        using var view = TestImages.Noise(224, 224, seed: 5);
        using var mirrored = TestImages.Mirror(view);
        var a = _models.Embedder.EmbedWithFlip(view);
        var b = _models.Embedder.EmbedWithFlip(mirrored);
        Assert.True(VectorMath.Dot(a, b) > 0.9999f);
        Assert.True(VectorMath.Dot(_models.Embedder.Embed(view), _models.Embedder.Embed(mirrored)) < 0.9999f);
    }

    [Fact]
    public void Pictures_of_the_wrong_size_are_refused()
    {
        using var view = TestImages.Solid(100, 100, SKColors.White);
        Assert.Throws<ArgumentException>(() => _models.Embedder.Embed(view));
    }
}

/// <summary>One set of model sessions for the whole test class, as in production.</summary>
public sealed class ModelFixture : IDisposable
{
    public ModelFixture()
    {
        Paths = ModelPaths.Locate();
        Embedder = new ResNetEmbedder(Paths.ResNet, Paths.ResNetPreprocess);
    }

    public ModelPaths Paths { get; }
    public ResNetEmbedder Embedder { get; }

    public void Dispose() => Embedder.Dispose();
}
