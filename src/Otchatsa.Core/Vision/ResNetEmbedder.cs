using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>
/// ResNet18 (ImageNet) from <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>: 224×224 view in, 512-d L2-normalised
/// embedding out. The package's own <c>ResNetPreprocess.onnx</c> (RGB→BGR, 0–255, minus a mean image) is run once at
/// start-up to read its mean image, so serving applies exactly that preprocessing without a second session per call.
/// One session per process; <see cref="InferenceSession.Run(RunOptions, IReadOnlyDictionary{string, OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe, so every thread shares it.
/// </summary>
public sealed class ResNetEmbedder : IDisposable
{
    public const int InputSize = 224;
    public const int Dimensions = 512;
    private const int Plane = InputSize * InputSize;
    private const string InputName = "Input247";
    private const string OutputName = "Pooling395_Output_0";

    private static readonly long[] InputShape = [1, 3, InputSize, InputSize];
    private static readonly long[] OutputShape = [1, Dimensions, 1, 1];

    [ThreadStatic]
    private static float[]? _inputBuffer;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _meanBgr;

    public ResNetEmbedder(string resnetPath, string preprocessPath, SessionOptions? options = null)
    {
        using var shared = options is null ? OnnxSessions.Options() : null;
        _meanBgr = ReadMeanImage(preprocessPath);
        _session = new InferenceSession(resnetPath, options ?? shared!);
    }

    /// <summary>The mean image in the model's BGR planar layout (3×224×224).</summary>
    internal ReadOnlySpan<float> MeanBgr => _meanBgr;

    /// <summary>Embeds a 224×224 RGBA bitmap (see <see cref="OutfitCropper"/>); the result has unit length.</summary>
    public float[] Embed(SKBitmap view)
    {
        // One input buffer per thread: a fresh 600 KB array per photo would land on the large object heap every time.
        var tensor = _inputBuffer ??= new float[3 * Plane];
        FillInput(view, tensor);
        var embedding = new float[Dimensions];
        RunRaw(tensor, embedding);
        VectorMath.Normalize(embedding);
        return embedding;
    }

    /// <summary>Embeds a view and its mirror image and averages them (flip averaging).</summary>
    public float[] EmbedWithFlip(SKBitmap view)
    {
        var embedding = Embed(view);
        using var mirrored = Mirror(view);
        var flipped = Embed(mirrored);
        for (var i = 0; i < embedding.Length; i++)
        {
            embedding[i] += flipped[i];
        }
        VectorMath.Normalize(embedding);
        return embedding;
    }

    /// <summary>Writes the preprocessed network input (BGR planes minus the mean image) for a 224×224 view.</summary>
    public void FillInput(SKBitmap view, Span<float> tensor)
    {
        if (view.Width != InputSize || view.Height != InputSize)
        {
            throw new ArgumentException($"The view must be {InputSize}×{InputSize}, not {view.Width}×{view.Height}.", nameof(view));
        }
        using var rgba = view.ColorType == SKColorType.Rgba8888 ? null : view.Copy(SKColorType.Rgba8888);
        var pixels = (rgba ?? view).GetPixelSpan();
        var rowBytes = (rgba ?? view).RowBytes;
        var mean = _meanBgr.AsSpan();
        for (var y = 0; y < InputSize; y++)
        {
            var row = pixels.Slice(y * rowBytes, InputSize * 4);
            for (var x = 0; x < InputSize; x++)
            {
                var i = y * InputSize + x;
                tensor[i] = row[x * 4 + 2] - mean[i];
                tensor[Plane + i] = row[x * 4 + 1] - mean[Plane + i];
                tensor[2 * Plane + i] = row[x * 4] - mean[2 * Plane + i];
            }
        }
    }

    /// <summary>Runs the network alone on a prepared input: the bare ONNX Runtime cost, used by the benchmark.</summary>
    public void RunRaw(float[] tensor, float[] output)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(tensor, InputShape);
        using var result = OrtValue.CreateTensorValueFromMemory(output, OutputShape);
        _session.Run(_runOptions, [InputName], [input], [OutputName], [result]);
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>A left-right mirrored Rgba8888 copy (the caller owns it).</summary>
    internal static SKBitmap Mirror(SKBitmap view)
    {
        using var rgba = view.ColorType == SKColorType.Rgba8888 ? null : view.Copy(SKColorType.Rgba8888);
        var source = rgba ?? view;
        var mirrored = new SKBitmap(new SKImageInfo(source.Width, source.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var from = source.GetPixelSpan();
        var to = mirrored.GetPixelSpan();
        for (var y = 0; y < source.Height; y++)
        {
            for (var x = 0; x < source.Width; x++)
            {
                from.Slice(y * source.RowBytes + x * 4, 4).CopyTo(to.Slice(y * mirrored.RowBytes + (source.Width - 1 - x) * 4, 4));
            }
        }
        return mirrored;
    }

    private static float[] ReadMeanImage(string preprocessPath)
    {
        // The preprocess graph is output = BGR(input) - mean, so a zero input yields -mean.
        using var options = OnnxSessions.Options();
        using var session = new InferenceSession(preprocessPath, options);
        var zeros = new float[3 * Plane];
        var output = new float[3 * Plane];
        using var input = OrtValue.CreateTensorValueFromMemory(zeros, InputShape);
        using var result = OrtValue.CreateTensorValueFromMemory(output, InputShape);
        using var runOptions = new RunOptions();
        session.Run(runOptions, [session.InputNames[0]], [input], [session.OutputNames[0]], [result]);
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = -output[i];
        }
        return output;
    }
}
