using Microsoft.ML.OnnxRuntime;
using Otchatsa.Catalog;
using Otchatsa.Numerics;
using Otchatsa.Pipeline;
using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>Which ResNet18 weights the embedder runs: the NuGet fp32 model, or its int8 copy (see <see cref="ResNetQuantizer"/>).</summary>
public enum EmbedderPrecision
{
    Fp32,
    Int8,
}

/// <summary>
/// ResNet18 (ImageNet) from <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>: 224×224 view in, 512-d L2-normalised
/// embedding out. The package's own <c>ResNetPreprocess.onnx</c> (RGB→BGR, 0–255, minus a mean image) is run once at
/// start-up to read its mean image, so serving applies exactly that preprocessing without a second session per call.
/// The package's graph has a fixed batch of 1; the session runs a copy rewritten in memory with a symbolic batch
/// (<see cref="ResNetQuantizer.Batched"/>), so the views of a photo go through the network as one batch. With
/// <see cref="EmbedderPrecision.Int8"/> it runs the static QDQ int8 copy rebuilt from the fp32 file and the committed
/// model card (<see cref="ResNetQuantizer.Quantize"/>). One session per process;
/// <see cref="InferenceSession.Run(RunOptions, IReadOnlyDictionary{string, OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe, so every thread shares it.
/// </summary>
public sealed class ResNetEmbedder : IDisposable
{
    public const int InputSize = 224;
    public const int Dimensions = 512;
    private const int Plane = InputSize * InputSize;
    private const string InputName = "Input247";
    private const string OutputName = "Pooling395_Output_0";

    /// <summary>Appended to the fp32 network's id for its int8 copy.</summary>
    public const string Int8Suffix = "-int8-qdq";

    /// <summary>The id an index or cache records for the package's int8 model (the fp32 one is <see cref="ModelPaths.ResNetId"/>).</summary>
    public const string Int8Id = ModelPaths.ResNetId + Int8Suffix;

    private static readonly long[] InputShape = [1, 3, InputSize, InputSize];

    [ThreadStatic]
    private static float[]? _inputBuffer;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _meanBgr;

    /// <summary>
    /// The network <paramref name="models"/> names (the package's, package + our delta, or a full fine-tuned file) in fp32,
    /// or the int8 copy that <paramref name="int8Card"/> describes.
    /// </summary>
    public static ResNetEmbedder Open(ModelPaths models, Int8ModelCard? int8Card, SessionOptions? options = null) =>
        new(models.ResNet, models.ResNetPreprocess, int8Card, options, models.EmbedderId, models.EmbedderDelta);

    /// <summary>The package's fp32 embedder.</summary>
    public ResNetEmbedder(string resnetPath, string preprocessPath, SessionOptions? options = null)
        : this(resnetPath, preprocessPath, int8Card: null, options)
    {
    }

    /// <param name="resnetPath">The NuGet ResNet18.onnx (or a fine-tuned network exported in full).</param>
    /// <param name="preprocessPath">The NuGet ResNetPreprocess.onnx.</param>
    /// <param name="int8Card">When given, the int8 model this card describes is built from the fp32 network and run.</param>
    /// <param name="options">Session options; <see cref="OnnxSessions.Options"/> when null.</param>
    /// <param name="modelId">The id the fp32 network is recorded under (<see cref="ModelPaths.ResNetId"/>,
    /// <see cref="ModelPaths.FashionId"/> or <see cref="ModelPaths.FineTunedId"/>); int8 appends <see cref="Int8Suffix"/>.</param>
    /// <param name="deltaPath">Our fashion embedder's delta (<see cref="EmbedderDelta"/>), added to <paramref name="resnetPath"/>.</param>
    public ResNetEmbedder(string resnetPath, string preprocessPath, Int8ModelCard? int8Card, SessionOptions? options = null,
        string modelId = ModelPaths.ResNetId, string? deltaPath = null)
    {
        using var shared = options is null ? OnnxSessions.Options() : null;
        _meanBgr = ReadMeanImage(preprocessPath);
        if (deltaPath is null)
        {
            Fp32Source = new ModelSource(resnetPath, null);
        }
        else
        {
            var packageSha = ModelHashes.Of(resnetPath);
            EmbedderDelta.CheckedCard(deltaPath, packageSha);
            Fp32Source = ResNetModelFiles.FineTuned(resnetPath, packageSha, deltaPath, ModelHashes.Of(deltaPath));
        }
        var sourceSha = Fp32Source.Sha256();
        ModelSource model;
        if (int8Card is null)
        {
            Precision = EmbedderPrecision.Fp32;
            ModelId = modelId;
            // Vectors of the batched copy equal the source's (same graph, same weights), so fp32 keeps the source's hash:
            // indexes and cached embeddings made before batching stay valid.
            ModelSha256 = sourceSha;
            model = ResNetModelFiles.BatchedFp32(Fp32Source, sourceSha);
        }
        else
        {
            if (!string.Equals(int8Card.SourceSha256, sourceSha, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(int8Card.SourceId, modelId, StringComparison.Ordinal))
            {
                throw new InvalidDataException(
                    $"The int8 model card was made from {int8Card.SourceId} {int8Card.SourceSha256[..12]}…, not from this {modelId} {sourceSha[..12]}…: " +
                    "run `otchatsa models quantize` again, or use --embedder fp32.");
            }
            Precision = EmbedderPrecision.Int8;
            ModelId = modelId + Int8Suffix;
            ModelSha256 = int8Card.ModelSha256;
            model = ResNetModelFiles.Int8(Fp32Source, int8Card);
        }
        _session = model.Path is not null
            ? new InferenceSession(model.Path, options ?? shared!)
            : new InferenceSession(model.Bytes!, options ?? shared!);
    }

    /// <summary>The fp32 network as the package's graph (with our delta added, for the fashion embedder): what int8 calibration reads.</summary>
    public ModelSource Fp32Source { get; }

    public EmbedderPrecision Precision { get; }

    /// <summary>Id recorded in index.json and style head cards: the fp32 network's id, with <see cref="Int8Suffix"/> for int8.</summary>
    public string ModelId { get; }

    /// <summary>SHA-256 of the model: the fp32 source (the NuGet file, or package + delta) for fp32, the rebuilt ONNX bytes for int8.</summary>
    public string ModelSha256 { get; }

    /// <summary>The mean image in the model's BGR planar layout (3×224×224).</summary>
    internal ReadOnlySpan<float> MeanBgr => _meanBgr;

    /// <summary>Embeds a 224×224 RGBA bitmap (see <see cref="OutfitCropper"/>); the result has unit length.</summary>
    public float[] Embed(SKBitmap view) => EmbedBatch([view])[0];

    /// <summary>
    /// Embeds several 224×224 views in one network run (batch = <paramref name="views"/>.Count); each result has unit
    /// length and equals <see cref="Embed"/> of that view up to float rounding.
    /// </summary>
    public float[][] EmbedBatch(IReadOnlyList<SKBitmap> views)
    {
        ArgumentNullException.ThrowIfNull(views);
        if (views.Count == 0)
        {
            return [];
        }
        // One input buffer per thread, grown to the largest batch seen: a fresh 600 KB array per view would land on
        // the large object heap every time.
        var length = views.Count * 3 * Plane;
        if (_inputBuffer is null || _inputBuffer.Length < length)
        {
            _inputBuffer = new float[length];
        }
        var tensor = _inputBuffer;
        for (var b = 0; b < views.Count; b++)
        {
            FillInput(views[b], tensor.AsSpan(b * 3 * Plane, 3 * Plane));
        }
        var output = new float[views.Count * Dimensions];
        RunRaw(tensor, output, views.Count);
        var embeddings = new float[views.Count][];
        for (var b = 0; b < views.Count; b++)
        {
            embeddings[b] = output.AsSpan(b * Dimensions, Dimensions).ToArray();
            VectorMath.Normalize(embeddings[b]);
        }
        return embeddings;
    }

    /// <summary>Embeds a view and its mirror image (one batch of two) and averages them (flip averaging).</summary>
    public float[] EmbedWithFlip(SKBitmap view)
    {
        using var mirrored = Mirror(view);
        var both = EmbedBatch([view, mirrored]);
        return FlipAverage(both[0], both[1]);
    }

    /// <summary>The normalised sum of a view's embedding and its mirror's (<paramref name="plain"/> is overwritten).</summary>
    public static float[] FlipAverage(float[] plain, float[] mirrored)
    {
        for (var i = 0; i < plain.Length; i++)
        {
            plain[i] += mirrored[i];
        }
        VectorMath.Normalize(plain);
        return plain;
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
    /// <param name="tensor">At least <paramref name="batch"/> × 3×224×224 prepared values.</param>
    /// <param name="output">At least <paramref name="batch"/> × 512 values; receives the raw (unnormalised) pooled features.</param>
    /// <param name="batch">How many views.</param>
    public void RunRaw(float[] tensor, float[] output, int batch = 1)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, tensor.AsMemory(0, batch * 3 * Plane), [batch, 3, InputSize, InputSize]);
        using var result = OrtValue.CreateTensorValueFromMemory(
            OrtMemoryInfo.DefaultInstance, output.AsMemory(0, batch * Dimensions), [batch, Dimensions, 1, 1]);
        _session.Run(_runOptions, [InputName], [input], [OutputName], [result]);
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    /// <summary>A left-right mirrored Rgba8888 copy (the caller owns it).</summary>
    public static SKBitmap Mirror(SKBitmap view)
    {
        using var rgba = view.ColorType == SKColorType.Rgba8888 ? null : view.Copy(SKColorType.Rgba8888);
        var source = rgba ?? view;
        var mirrored = new SKBitmap(new SKImageInfo(source.Width, source.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var from = source.GetPixelSpan();
        var to = mirrored.GetPixelSpan();
        for (var y = 0; y < source.Height; y++)
        {
            // One RGBA pixel = one uint: copy the row, then reverse its pixels in place (vectorised by the runtime).
            var row = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(to.Slice(y * mirrored.RowBytes, source.Width * 4));
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(from.Slice(y * source.RowBytes, source.Width * 4)).CopyTo(row);
            row.Reverse();
        }
        return mirrored;
    }

    private static float[] ReadMeanImage(string preprocessPath)
    {
        // The preprocess graph is output = BGR(input) - mean, so a zero input yields -mean.
        using var options = OnnxSessions.CallerThread();
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
