using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Otchatsa.Catalog;

/// <summary>A model file an index depends on: its role in the pipeline, a human id and the SHA-256 of the file.</summary>
/// <param name="Role">What the model does, e.g. <c>embedding</c>, <c>style_head</c>, <c>segmentation</c>. Compared by role.</param>
/// <param name="Id">Human-readable id, e.g. <c>resnet18-imagenet</c>.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the model file.</param>
public sealed record ModelFingerprint(string Role, string Id, string Sha256)
{
    /// <summary>Fingerprints the file at <paramref name="path"/>.</summary>
    public static ModelFingerprint FromFile(string role, string id, string path) => new(role, id, IndexManifest.Sha256OfFile(path));
}

/// <summary>
/// <c>index.json</c>: what an index directory was built from and with. Written last by the builder; checked by every
/// reader with <see cref="EnsureCompatible"/> so that an index built with other models is refused with a clear message
/// instead of returning quietly wrong recommendations.
/// </summary>
public sealed record IndexManifest
{
    /// <summary>What an index built by <paramref name="engine"/> must say about its models and view.</summary>
    public static IndexManifest Expected(Pipeline.OutfitEngine engine) => new()
    {
        Models =
        [
            new ModelFingerprint("embedding", engine.Embedder.ModelId, engine.Embedder.ModelSha256),
            new ModelFingerprint("segmenter", Pipeline.ModelPaths.SegmenterId, ModelHashes.Of(engine.Models.Segmenter)),
        ],
        EmbeddingView = engine.Settings.Name,
        Dims = engine.Settings.Dimensions,
    };

    /// <summary>The manifest's file name inside an index directory.</summary>
    public const string FileName = "index.json";

    /// <summary>Layout version of the index directory written by this build.</summary>
    public const int CurrentFormatVersion = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Every model that shaped the stored vectors or predictions.</summary>
    public IReadOnlyList<ModelFingerprint> Models { get; init; } = [];

    /// <summary>Which view of the photo was embedded (e.g. <c>crop</c>, <c>crop_plus_whole</c>).</summary>
    public string EmbeddingView { get; init; } = "";

    /// <summary>Vector length.</summary>
    public int Dims { get; init; }

    public int ItemCount { get; init; }
    public int SkippedCount { get; init; }

    /// <summary>Skipped rows per reason (e.g. <c>not_found</c> → 3), for the build summary.</summary>
    public IReadOnlyDictionary<string, int> SkippedByReason { get; init; } = new Dictionary<string, int>();

    public int MallCount { get; init; }
    public DateTimeOffset BuiltUtc { get; init; }

    /// <summary>The manifest the index was built from, as given on the command line (absolute).</summary>
    public string? CatalogPath { get; init; }

    public string? CatalogSha256 { get; init; }

    /// <summary>Free-form extra facts the builder wants to keep (e.g. style-head labels).</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>Writes <see cref="FileName"/> into <paramref name="indexDirectory"/>.</summary>
    public void Save(string indexDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(indexDirectory);
        Directory.CreateDirectory(indexDirectory);
        File.WriteAllText(Path.Combine(indexDirectory, FileName), JsonSerializer.Serialize(this, Json));
    }

    /// <summary>Reads <see cref="FileName"/> from <paramref name="indexDirectory"/>.</summary>
    /// <exception cref="IndexIncompatibleException">Missing or unreadable: not an index this build can use.</exception>
    public static IndexManifest Load(string indexDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(indexDirectory);
        var path = Path.Combine(indexDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new IndexIncompatibleException(
                $"{Path.GetFullPath(indexDirectory)} is not an Otchatsa index (no {FileName}): build one with `otchatsa index build`",
                [$"missing {FileName}"]);
        }
        try
        {
            return JsonSerializer.Deserialize<IndexManifest>(File.ReadAllText(path), Json)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new IndexIncompatibleException(
                $"{path} is unreadable ({ex.Message}): rebuild with `otchatsa index build`", [ex.Message], ex);
        }
    }

    /// <summary>
    /// Throws when this (loaded) index cannot serve a build that expects <paramref name="expected"/>: other format
    /// version, vector length, embedding view, or any model of <paramref name="expected"/> whose role is missing here
    /// or has another id or SHA-256. Counts, dates and catalog fields of <paramref name="expected"/> are ignored, and
    /// so are models of roles it does not list (list only what affects your results).
    /// </summary>
    /// <exception cref="IndexIncompatibleException">With every mismatch in the message.</exception>
    public void EnsureCompatible(IndexManifest expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var problems = new List<string>();
        if (FormatVersion != expected.FormatVersion)
            problems.Add($"index format {FormatVersion}, this build reads format {expected.FormatVersion}");
        if (Dims != expected.Dims)
            problems.Add($"index vectors have {Dims} dimensions, this build makes {expected.Dims}");
        if (!string.IsNullOrEmpty(expected.EmbeddingView) && !string.Equals(EmbeddingView, expected.EmbeddingView, StringComparison.OrdinalIgnoreCase))
            problems.Add($"index embeds the '{EmbeddingView}' view, this build embeds '{expected.EmbeddingView}'");

        foreach (var want in expected.Models)
        {
            var have = Models.FirstOrDefault(m => string.Equals(m.Role, want.Role, StringComparison.OrdinalIgnoreCase));
            if (have is null)
                problems.Add($"index has no {want.Role} model, this build uses {Describe(want)}");
            else if (!string.Equals(have.Id, want.Id, StringComparison.Ordinal) || !string.Equals(have.Sha256, want.Sha256, StringComparison.OrdinalIgnoreCase))
                problems.Add($"index built with {want.Role} model {Describe(have)}, this build uses {Describe(want)}");
        }

        if (problems.Count > 0)
        {
            throw new IndexIncompatibleException(
                $"index is incompatible with this build: {string.Join("; ", problems)}: rebuild with `otchatsa index build`", problems);
        }
    }

    /// <summary>Lower-case hex SHA-256 of a file (streamed).</summary>
    public static string Sha256OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Describe(ModelFingerprint m) =>
        $"{m.Id} (sha {(m.Sha256.Length > 12 ? m.Sha256[..12] + "…" : m.Sha256)})";
}

/// <summary>An index directory that this build cannot use; the message says why and how to fix it (rebuild).</summary>
public sealed class IndexIncompatibleException(string message, IReadOnlyList<string> problems, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>Each mismatch found, one per entry.</summary>
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>Model file hashes, computed once per file per process (the ResNet18 file is 63 MB).</summary>
public static class ModelHashes
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Cache = new();

    public static string Of(string path) => Cache.GetOrAdd(Path.GetFullPath(path), IndexManifest.Sha256OfFile);
}
