using Otchatsa.Vision;

namespace Otchatsa.Pipeline;

/// <summary>
/// Where the ONNX models are. ResNet18 and its preprocessing come from the NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (copied next to the binaries as <c>DnnImageModels/</c>); the person
/// segmenter and the style head are the project's own files under <c>models/</c>. A fine-tuned embedder
/// (<c>tools/embedder-train</c>: same input, output and preprocessing as the package's ResNet18) replaces the package's
/// network when given explicitly or when the models folder holds <c>embedder.onnx</c>; <see cref="EmbedderId"/> then
/// names it, it runs in fp32 (the int8 card is calibrated for the package's network), and indexes and caches built
/// with another network no longer match.
/// </summary>
public sealed record ModelPaths(string ResNet, string ResNetPreprocess, string Segmenter, string? StyleHead,
    string EmbedderId = ModelPaths.ResNetId)
{
    public const string FineTunedId = "resnet18-finetuned";
    public const string EmbedderFileName = "embedder.onnx";

    /// <summary>Environment variable choosing the embedder: <c>int8</c> or <c>fp32</c>.</summary>
    public const string EmbedderVariable = "OTCHATSA_EMBEDDER";

    /// <summary>The int8 ResNet18's model card (<see cref="Int8ModelCard"/>), when installed under models/.</summary>
    public string? Int8Card { get; init; }

    /// <summary>Which ResNet18 the engine runs; <see cref="EmbedderPrecision.Int8"/> needs <see cref="Int8Card"/>.</summary>
    public EmbedderPrecision Embedder { get; init; } = EmbedderPrecision.Fp32;

    /// <summary>The card to build the int8 model from, or null for fp32.</summary>
    public Int8ModelCard? LoadInt8Card() => Embedder == EmbedderPrecision.Int8 ? Int8ModelCard.Load(Int8Card!) : null;

    /// <summary>These paths with another embedder (the int8 one needs its card under models/).</summary>
    public ModelPaths With(EmbedderPrecision embedder)
    {
        if (embedder == EmbedderPrecision.Int8 && (Int8Card is null || !File.Exists(Int8Card)))
        {
            throw new FileNotFoundException(
                $"The int8 embedder needs models/{Int8ModelCard.FileName}: make it with `otchatsa models quantize`.", Int8Card);
        }
        return this with { Embedder = embedder };
    }

    /// <summary>Parses <c>int8</c> / <c>fp32</c> (the <c>--embedder</c> option and <see cref="EmbedderVariable"/>).</summary>
    public static EmbedderPrecision ParseEmbedder(string value) => value.Trim().ToLowerInvariant() switch
    {
        "int8" => EmbedderPrecision.Int8,
        "fp32" => EmbedderPrecision.Fp32,
        _ => throw new UnknownEmbedderException($"Unknown embedder '{value}' (--embedder or ${EmbedderVariable}): use int8 or fp32."),
    };

    public const string ResNetId = "resnet18-dnnimagefeaturizer-0.23.1";
    public const string SegmenterId = "mediapipe-selfie-segmentation";

    /// <summary>Finds the models beside the application, or in <paramref name="modelsPath"/> when given.</summary>
    /// <param name="modelsPath">The models folder; beside the application when null.</param>
    /// <param name="embedder">
    /// The embedder; when null, <see cref="EmbedderVariable"/> if set, else int8 when its card is installed, else fp32.
    /// </param>
    /// <param name="embedderModel">
    /// A fine-tuned embedding network (<c>--embedder-model</c>); when null, <c>embedder.onnx</c> in the models folder if
    /// present, else the package's ResNet18. A fine-tuned network runs in fp32.
    /// </param>
    public static ModelPaths Locate(string? modelsPath = null, EmbedderPrecision? embedder = null, string? embedderModel = null)
    {
        var baseDir = AppContext.BaseDirectory;
        var models = string.IsNullOrWhiteSpace(modelsPath) ? Path.Combine(baseDir, "models") : Path.GetFullPath(modelsPath);
        var dnn = Path.Combine(baseDir, "DnnImageModels");
        var own = !string.IsNullOrWhiteSpace(embedderModel) ? Path.GetFullPath(embedderModel)
            : File.Exists(Path.Combine(models, EmbedderFileName)) ? Path.Combine(models, EmbedderFileName)
            : null;
        var paths = new ModelPaths(
            own ?? Path.Combine(dnn, "ResNet18Onnx", "ResNet18.onnx"),
            Path.Combine(dnn, "ResNetPrepOnnx", "ResNetPreprocess.onnx"),
            Path.Combine(models, "selfie_segmentation.onnx"),
            File.Exists(Path.Combine(models, "style_head.onnx")) ? Path.Combine(models, "style_head.onnx") : null,
            own is null ? ResNetId : FineTunedId)
        {
            Int8Card = File.Exists(Path.Combine(models, Int8ModelCard.FileName)) ? Path.Combine(models, Int8ModelCard.FileName) : null,
        };
        foreach (var required in new[] { paths.ResNet, paths.ResNetPreprocess, paths.Segmenter })
        {
            if (!File.Exists(required))
            {
                throw new FileNotFoundException(
                    $"Model file '{required}' is missing. Build the solution (it copies the models) or set Otchatsa:ModelsPath.",
                    required);
            }
        }
        if (own is not null)
        {
            if (embedder == EmbedderPrecision.Int8)
            {
                throw new UnknownEmbedderException(
                    $"The int8 embedder is calibrated for the package's ResNet18, not for {Path.GetFileName(own)}: use --embedder fp32 with a fine-tuned network.");
            }
            return paths.With(EmbedderPrecision.Fp32);
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EmbedderVariable);
        var chosen = embedder
            ?? (string.IsNullOrWhiteSpace(fromEnvironment) ? (EmbedderPrecision?)null : ParseEmbedder(fromEnvironment))
            ?? (paths.Int8Card is null ? EmbedderPrecision.Fp32 : EmbedderPrecision.Int8);
        return paths.With(chosen);
    }
}

/// <summary>An embedder name that is neither <c>int8</c> nor <c>fp32</c>; the message is fit to show as is.</summary>
public sealed class UnknownEmbedderException(string message) : Exception(message);
