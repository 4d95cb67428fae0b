using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.Numerics;
using Otchatsa.OnnxFiles;
using Otchatsa.Pipeline;
using Otchatsa.Tests.Support;
using Otchatsa.Training;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Tests.Vision;

/// <summary>The default network (the package's ResNet18) in fp32 and as the int8 copy of the committed card, loaded once for the class.</summary>
public sealed class Int8Fixture : IDisposable
{
    public Int8Fixture()
    {
        Paths = ModelPaths.Locate(embedder: EmbedderPrecision.Int8);
        Card = Paths.LoadInt8Card()!;
        Fp32 = ResNetEmbedder.Open(Paths, int8Card: null);
        Int8 = ResNetEmbedder.Open(Paths, Card);
    }

    public ModelPaths Paths { get; }
    public Int8ModelCard Card { get; }
    public ResNetEmbedder Fp32 { get; }
    public ResNetEmbedder Int8 { get; }

    public void Dispose()
    {
        Fp32.Dispose();
        Int8.Dispose();
    }
}

public sealed class Int8ResNetTests : IClassFixture<Int8Fixture>
{
    private readonly Int8Fixture _models;

    public Int8ResNetTests(Int8Fixture models) => _models = models;

    [Fact]
    public void The_committed_card_rebuilds_exactly_the_model_it_names()
    {
        var fp32 = _models.Fp32.Fp32Source.ReadAllBytes();
        var first = ResNetQuantizer.Quantize(fp32, _models.Card.Ranges);
        Assert.Equal(_models.Card.ModelSha256, Convert.ToHexStringLower(SHA256.HashData(first)));
        Assert.Equal(_models.Card.ModelSha256, _models.Int8.ModelSha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(fp32)), _models.Card.SourceSha256);
        Assert.Equal((ModelPaths.ResNetId, ResNetEmbedder.Int8Id), (_models.Card.SourceId, _models.Int8.ModelId));
        Assert.Equal(IndexManifest.Sha256OfFile(_models.Paths.ResNet), _models.Card.SourceSha256);
        // Every activation the quantizer needs is in the card.
        Assert.Equal(ResNetQuantizer.QuantizedTensors(fp32).Order(), _models.Card.Ranges.Select(r => r.Tensor).Order());
    }

    [Fact]
    public void The_quantized_graph_is_qdq_around_every_conv_and_runs_as_qlinearconv()
    {
        var model = ResNetQuantizer.Quantize(_models.Fp32.Fp32Source.ReadAllBytes(), _models.Card.Ranges);
        var graph = OnnxModel.Parse(model);
        Assert.Equal((string.Empty, (long)ResNetQuantizer.Opset), graph.Opsets.Single());
        Assert.DoesNotContain(graph.Nodes, n => n.OpType is "BatchNormalization" or "Relu");
        var producers = graph.Nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var convs = graph.Nodes.Where(n => n.OpType == "Conv").ToList();
        Assert.Equal(22, convs.Count);
        foreach (var conv in convs)
        {
            // Activation, weight and bias all come from DequantizeLinear; weights are int8 per channel, biases int32.
            Assert.All(conv.Inputs, i => Assert.Equal("DequantizeLinear", producers[i].OpType));
            var weight = graph.Initializers[producers[conv.Inputs[1]].Inputs[0]];
            Assert.Equal(OnnxTensor.Int8, weight.DataType);
            Assert.Equal(weight.Dims[0], graph.Initializers[producers[conv.Inputs[1]].Inputs[1]].ElementCount);
            Assert.Equal(OnnxTensor.Int32, graph.Initializers[producers[conv.Inputs[2]].Inputs[0]].DataType);
            Assert.All(graph.Nodes.Where(n => n.Inputs.Contains(conv.Outputs[0])), n => Assert.Equal("QuantizeLinear", n.OpType));
        }

        var optimized = Path.Combine(Path.GetTempPath(), $"otchatsa-int8-test-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
            using (new InferenceSession(model, options))
            {
            }
            var ops = ResNetQuantizer.OpCounts(File.ReadAllBytes(optimized));
            Assert.Equal(22, ops.GetValueOrDefault("QLinearConv"));
            Assert.Equal(9, ops.GetValueOrDefault("QLinearAdd"));
            Assert.False(ops.ContainsKey("Conv"), "a Conv was left in float");
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    [Fact]
    public void Int8_embeddings_of_demo_photos_stay_close_to_fp32()
    {
        // Fashion-MNIST product photos: available on every machine, and far from the K-Fashion calibration photos (grey
        // garments on white), so the bar is lower than on held-out catalog photos below.
        using var engine = new OutfitEngine(_models.Paths.With(EmbedderPrecision.Fp32));
        var cosines = new List<double>();
        foreach (var row in CatalogManifest.Read(DemoIndex.Manifest).Take(24))
        {
            var views = Int8Calibrator.Views(engine, File.ReadAllBytes(row.ResolvedPath!))!;
            var a = _models.Fp32.EmbedBatch(views);
            var b = _models.Int8.EmbedBatch(views);
            cosines.AddRange(views.Select((v, i) => (double)VectorMath.Dot(a[i], b[i])));
            foreach (var view in views)
            {
                view.Dispose();
            }
        }
        var check = Int8Calibrator.Summarize(24, cosines);
        Assert.True(check.CosineMedian > 0.98 && check.CosineMin > 0.95, $"median cosine {check.CosineMedian}, lowest {check.CosineMin}");
    }

    [SkippableFact]
    public void Int8_embeddings_of_held_out_kfashion_photos_stay_close_to_fp32()
    {
        Skip.If(TestPaths.KFashion is null, TestPaths.KFashionMissing);
        var calibration = _models.Card.Calibration.Photos.ToHashSet(StringComparer.Ordinal);
        using var engine = new OutfitEngine(_models.Paths.With(EmbedderPrecision.Fp32));
        var rows = CatalogManifest.Read(Path.Combine(TestPaths.KFashion!, "manifest.csv"))
            .Where(r => r.ResolvedPath is not null).ToList();
        var cosines = new List<double>();
        var photos = 0;
        foreach (var row in rows.Where((_, i) => i % 37 == 0))
        {
            var bytes = File.ReadAllBytes(row.ResolvedPath!);
            if (calibration.Contains(Convert.ToHexStringLower(SHA256.HashData(bytes))))
            {
                continue;
            }
            var views = Int8Calibrator.Views(engine, bytes)!;
            photos++;
            var a = _models.Fp32.EmbedBatch(views);
            var b = _models.Int8.EmbedBatch(views);
            cosines.AddRange(views.Select((v, i) => (double)VectorMath.Dot(a[i], b[i])));
            foreach (var view in views)
            {
                view.Dispose();
            }
        }
        var check = Int8Calibrator.Summarize(photos, cosines);
        Assert.True(check.CosineMedian > 0.995 && check.CosineP01 > 0.985, $"median cosine {check.CosineMedian}, 1st percentile {check.CosineP01}");
    }

    [Theory]
    [InlineData(EmbedderPrecision.Fp32)]
    [InlineData(EmbedderPrecision.Int8)]
    public void A_batch_of_views_embeds_like_the_views_one_by_one(EmbedderPrecision precision)
    {
        var embedder = precision == EmbedderPrecision.Int8 ? _models.Int8 : _models.Fp32;
        var views = Enumerable.Range(0, 4).Select(i => TestImages.Noise(224, 224, seed: 20 + i)).ToArray();
        try
        {
            var batched = embedder.EmbedBatch(views);
            for (var i = 0; i < views.Length; i++)
            {
                var single = embedder.Embed(views[i]);
                var maxError = single.Zip(batched[i], (a, b) => Math.Abs(a - b)).Max();
                Assert.True(maxError < 1e-4f, $"view {i}: max difference {maxError}");
            }
        }
        finally
        {
            foreach (var view in views)
            {
                view.Dispose();
            }
        }
    }

    [Fact]
    public void The_batched_fp32_copy_computes_what_the_package_model_computes()
    {
        using var view = TestImages.Noise(224, 224, seed: 9);
        var input = new float[3 * 224 * 224];
        _models.Fp32.FillInput(view, input);
        using var session = new InferenceSession(_models.Fp32.Fp32Source.ReadAllBytes());
        using var tensor = OrtValue.CreateTensorValueFromMemory(input, [1, 3, 224, 224]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [tensor], [session.OutputNames[0]]);
        var reference = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var ours = new float[512];
        _models.Fp32.RunRaw(input, ours);
        var maxError = reference.Zip(ours, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxError < 1e-3f * reference.Max(Math.Abs), $"max difference {maxError}");
        Assert.Equal(_models.Fp32.Fp32Source.Sha256(), _models.Fp32.ModelSha256);
    }

    [Fact]
    public void An_index_records_its_embedder_and_refuses_the_other_one()
    {
        var manifest = IndexManifest.Load(DemoIndex.Directory);
        var embedding = manifest.Models.Single(m => m.Role == "embedding");
        Assert.Equal(ResNetEmbedder.Int8Id, embedding.Id);
        Assert.Equal(_models.Card.ModelSha256, embedding.Sha256);

        using var fp32 = new OutfitEngine(_models.Paths.With(EmbedderPrecision.Fp32), EmbeddingSettings.Parse(manifest.EmbeddingView));
        var refused = Assert.Throws<IndexIncompatibleException>(() => manifest.EnsureCompatible(IndexManifest.Expected(fp32)));
        Assert.Contains("rebuild with `otchatsa index build`", refused.Message);
        Assert.Contains($"this build uses {ModelPaths.ResNetId} (sha", refused.Message);
    }
}
