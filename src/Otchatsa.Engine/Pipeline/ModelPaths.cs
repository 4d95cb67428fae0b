using Otchatsa.Vision;

namespace Otchatsa.Pipeline;

/// <summary>
/// Where the ONNX models are. ResNet18 and its preprocessing come from the NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (copied next to the binaries as <c>DnnImageModels/</c>); the person
/// segmenter, the style head and our fashion embedder are the project's own files under <c>models/</c>. The default
/// network is the package's (ImageNet). <c>--embedder-model fashion</c> selects our fashion embedder
/// (<see cref="EmbedderDelta"/>: <c>fashion_embedder.delta.onnx</c> + its card, trained by <c>tools/embedder-train</c>),
/// a change of the package's weights added at load time; a fine-tuned network exported in full
/// (<c>--embedder-model file.onnx</c>, or <c>embedder.onnx</c> in the models folder) replaces the package's and runs in
/// fp32. <see cref="EmbedderId"/> names the network; indexes and caches built with another one no longer match.
/// </summary>
public sealed record ModelPaths(string ResNet, string ResNetPreprocess, string Segmenter, string? StyleHead,
    string EmbedderId = ModelPaths.ResNetId)
{
    public const string FineTunedId = "resnet18-finetuned";
    public const string EmbedderFileName = "embedder.onnx";

    /// <summary>Our fashion embedder: the package's ResNet18 with <see cref="EmbedderDelta"/> added.</summary>
    public const string FashionId = "otchatsa-fashion-resnet18";

    /// <summary>The <c>--embedder-model</c> value that selects the package's ImageNet network (the default) even when the models folder holds <c>embedder.onnx</c>.</summary>
    public const string ImageNetModel = "imagenet";

    /// <summary>The <c>--embedder-model</c> value that requires our fashion embedder (its delta in the models folder).</summary>
    public const string FashionModel = "fashion";

    /// <summary>Our fashion embedder's delta, added to <see cref="ResNet"/> at load time; null for the package's network or a full file.</summary>
    public string? EmbedderDelta { get; init; }

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
    /// The precision; when null, <see cref="EmbedderVariable"/> if set, else int8 when its card is installed and was
    /// made from the chosen network, else fp32.
    /// </param>
    /// <param name="embedderModel">
    /// The network (<c>--embedder-model</c>): <see cref="FashionModel"/> for our fashion embedder (its delta in the
    /// models folder), <see cref="ImageNetModel"/> for the package's, or a fine-tuned network exported in full (a file,
    /// run in fp32); when null, <c>embedder.onnx</c> in the models folder if present, else the package's ResNet18.
    /// </param>
    public static ModelPaths Locate(string? modelsPath = null, EmbedderPrecision? embedder = null, string? embedderModel = null)
    {
        var baseDir = AppContext.BaseDirectory;
        var models = string.IsNullOrWhiteSpace(modelsPath) ? Path.Combine(baseDir, "models") : Path.GetFullPath(modelsPath);
        var dnn = Path.Combine(baseDir, "DnnImageModels");
        var imageNet = string.Equals(embedderModel?.Trim(), ImageNetModel, StringComparison.OrdinalIgnoreCase);
        var fashion = string.Equals(embedderModel?.Trim(), FashionModel, StringComparison.OrdinalIgnoreCase);
        if (fashion && !File.Exists(Path.Combine(models, Vision.EmbedderDelta.FileName)))
        {
            throw new FileNotFoundException(
                $"The fashion embedder '{Path.Combine(models, Vision.EmbedderDelta.FileName)}' is missing: it is not in git; make it with tools/embedder-train/run.sh and copy fashion_embedder.* into that folder (or give --models), or use --embedder-model imagenet.",
                Path.Combine(models, Vision.EmbedderDelta.FileName));
        }
        var own = imageNet || fashion ? null
            : !string.IsNullOrWhiteSpace(embedderModel) ? Path.GetFullPath(embedderModel)
            : File.Exists(Path.Combine(models, EmbedderFileName)) ? Path.Combine(models, EmbedderFileName)
            : null;
        var delta = fashion ? Path.Combine(models, Vision.EmbedderDelta.FileName) : null;
        var paths = new ModelPaths(
            own ?? Path.Combine(dnn, "ResNet18Onnx", "ResNet18.onnx"),
            Path.Combine(dnn, "ResNetPrepOnnx", "ResNetPreprocess.onnx"),
            Path.Combine(models, "selfie_segmentation.onnx"),
            File.Exists(Path.Combine(models, "style_head.onnx")) ? Path.Combine(models, "style_head.onnx") : null,
            own is not null ? FineTunedId : delta is not null ? FashionId : ResNetId)
        {
            Int8Card = File.Exists(Path.Combine(models, Int8ModelCard.FileName)) ? Path.Combine(models, Int8ModelCard.FileName) : null,
            EmbedderDelta = delta,
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
                    $"The int8 embedder is made from the package's graph, not from {Path.GetFileName(own)}: use --embedder fp32 with a fine-tuned network.");
            }
            return paths.With(EmbedderPrecision.Fp32);
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EmbedderVariable);
        var cardFits = paths.Int8Card is not null && Int8ModelCard.Load(paths.Int8Card).SourceId == paths.EmbedderId;
        var chosen = embedder
            ?? (string.IsNullOrWhiteSpace(fromEnvironment) ? (EmbedderPrecision?)null : ParseEmbedder(fromEnvironment))
            ?? (cardFits ? EmbedderPrecision.Int8 : EmbedderPrecision.Fp32);
        if (chosen == EmbedderPrecision.Int8 && paths.Int8Card is not null && !cardFits)
        {
            throw new UnknownEmbedderException(
                $"The installed int8 card ({Int8ModelCard.FileName}) was calibrated for another network than {paths.EmbedderId}: use --embedder fp32, or make its own card with `otchatsa models quantize`.");
        }
        return paths.With(chosen);
    }
}

/// <summary>An embedder name that is neither <c>int8</c> nor <c>fp32</c>; the message is fit to show as is.</summary>
public sealed class UnknownEmbedderException(string message) : Exception(message);
