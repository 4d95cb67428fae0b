using Otchatsa.Pipeline;

namespace Otchatsa.Vision;

/// <summary>
/// <c>models/resnet18_int8.card.json</c>: how the int8 ResNet18 was made (source model, method, the calibration photos by
/// manifest and SHA-256, seed), the calibrated activation ranges it is rebuilt from (<see cref="ResNetQuantizer.Quantize"/>),
/// the SHA-256 of the resulting model and how close its embeddings are to fp32 on held-out photos. Small enough to
/// commit; the 11 MB model itself is rebuilt deterministically from the NuGet fp32 file and this card.
/// </summary>
public sealed record Int8ModelCard
{
    public const string CurrentFormat = "otchatsa-int8-resnet18/1";
    public const string FileName = "resnet18_int8.card.json";

    public string Format { get; init; } = CurrentFormat;

    /// <summary>The fp32 model it was quantized from (NuGet file id and SHA-256); building from another file is refused.</summary>
    public required string SourceId { get; init; }

    public required string SourceSha256 { get; init; }

    /// <summary>SHA-256 of the int8 ONNX bytes this card and the source rebuild to.</summary>
    public required string ModelSha256 { get; init; }

    public required string Method { get; init; }

    public required Int8Calibration Calibration { get; init; }

    public required IReadOnlyList<ActivationRange> Ranges { get; init; }

    /// <summary>cosine(int8, fp32) of single-view embeddings on held-out photos.</summary>
    public Int8Check? Check { get; init; }

    /// <summary>End-to-end quality next to fp32 (filled in by hand from `otchatsa eval`), free-form.</summary>
    public IReadOnlyDictionary<string, string>? Evaluation { get; init; }

    public DateTimeOffset CreatedUtc { get; init; }

    public static Int8ModelCard Load(string path) => ModelCardFile.Load<Int8ModelCard>(path, "an int8 model card");

    public void Save(string path) => ModelCardFile.Save(this, path);
}

/// <param name="Manifest">The catalog manifest the photos were drawn from, as given.</param>
/// <param name="ManifestSha256">Its SHA-256.</param>
/// <param name="Seed">Seed of the draw.</param>
/// <param name="Views">Which views of each photo were fed (the product's four: crop, whole and their mirrors).</param>
/// <param name="Statistic">How a tensor's range is taken from the calibration inputs.</param>
/// <param name="Photos">SHA-256 of each calibration photo's bytes (never the images).</param>
public sealed record Int8Calibration(
    string Manifest, string ManifestSha256, int Seed, string Views, string Statistic, IReadOnlyList<string> Photos);

/// <param name="Photos">Held-out photos (products not among the calibration photos).</param>
/// <param name="Embeddings">Embeddings compared (photos × views).</param>
/// <param name="CosineMedian">Median cosine(int8, fp32).</param>
/// <param name="CosineP01">1st percentile.</param>
/// <param name="CosineMin">The lowest.</param>
public sealed record Int8Check(int Photos, int Embeddings, double CosineMedian, double CosineP01, double CosineMin);
