using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using Otchatsa.Styles;

namespace Otchatsa.Embeddings;

/// <summary>One usable row of a labelled manifest (K-Fashion style) with everything training and evaluation need.</summary>
public sealed record LabelledPhoto(
    int Index,
    CatalogRow Row,
    string Path,
    FashionStyle? Style,
    FashionStyle? Substyle,
    string Group,
    string? LabelPath,
    string Source = "")
{
    public string Mall => Row.Mall ?? "";
}

/// <summary>A labelled photo with its features as sent and with its person on another photo's background.</summary>
public sealed record PhotoSample(LabelledPhoto Photo, PhotoFeatures InStudio, PhotoFeatures? OtherBackground);

/// <summary>Progress of feature extraction: photos done of total.</summary>
public sealed record FeatureProgress(int Done, int Total);

/// <summary>
/// Reads a labelled manifest and computes (or loads from the cache) the features of every photo, optionally also with
/// its person pasted onto another photo's background. The backdrop comes from a photo of another mall, chosen
/// deterministically so that every run (and the cache) sees the same queries.
/// </summary>
public static class LabelledPhotos
{
    /// <summary>Rows with a local, existing image; the product-disjoint group is the <c>product</c> column (else the image).</summary>
    public static IReadOnlyList<LabelledPhoto> Read(string manifestCsv)
    {
        var rows = CatalogManifest.Read(manifestCsv);
        var labels = LabelColumn(manifestCsv);
        var photos = new List<LabelledPhoto>(rows.Count);
        foreach (var row in rows)
        {
            if (!row.IsUsable || row.ResolvedPath is null || !File.Exists(row.ResolvedPath))
            {
                continue;
            }
            photos.Add(new LabelledPhoto(
                photos.Count,
                row,
                row.ResolvedPath,
                StyleTaxonomy.Resolve(row.Style),
                StyleTaxonomy.Resolve(row.Substyle),
                string.IsNullOrWhiteSpace(row.Product) ? "image:" + row.Image : "product:" + row.Product,
                labels.TryGetValue(row.Image, out var label) ? label : null));
        }
        return photos;
    }

    /// <summary>
    /// The photos of several manifests as one set (re-indexed in order); each photo's <see cref="LabelledPhoto.Source"/>
    /// is its manifest's folder name, and product groups are kept apart per manifest.
    /// </summary>
    public static IReadOnlyList<LabelledPhoto> ReadAll(IReadOnlyList<string> manifestCsvs)
    {
        if (manifestCsvs.Count == 1)
        {
            return Read(manifestCsvs[0]);
        }
        var all = new List<LabelledPhoto>();
        foreach (var manifest in manifestCsvs)
        {
            var source = SourceName(manifest);
            var offset = all.Count;
            all.AddRange(Read(manifest).Select(p => p with { Index = offset + p.Index, Group = source + "/" + p.Group, Source = source }).ToArray());
        }
        return all;
    }

    /// <summary>A manifest's short name: its folder (<c>…/kfashion23/manifest.csv</c> → <c>kfashion23</c>).</summary>
    public static string SourceName(string manifestCsv) =>
        Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(manifestCsv))) is { Length: > 0 } folder ? folder : Path.GetFileNameWithoutExtension(manifestCsv);

    /// <summary>The optional <c>label</c> column (K-Fashion label JSON, relative to the CSV) by image cell.</summary>
    private static Dictionary<string, string> LabelColumn(string manifestCsv)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(manifestCsv))!;
        using var reader = new StreamReader(manifestCsv);
        using var csv = CsvHelper.CsvReader.Create(reader, new CsvHelper.CsvReaderOptions { HasHeader = true, SkipEmptyLines = true }, leaveOpen: true);
        var header = csv.Headers.Select(h => h.Trim().TrimStart('\uFEFF').ToLowerInvariant()).ToList();
        int image = header.IndexOf("image"), label = header.IndexOf("label");
        if (image < 0 || label < 0)
        {
            return result;
        }
        while (csv.Read())
        {
            var imageCell = image < csv.FieldCount ? csv.GetStringOrNull(image)?.Trim() : null;
            var labelCell = label < csv.FieldCount ? csv.GetStringOrNull(label)?.Trim() : null;
            if (!string.IsNullOrEmpty(imageCell) && !string.IsNullOrEmpty(labelCell))
            {
                result.TryAdd(imageCell, Path.GetFullPath(Path.Combine(baseDir, labelCell)));
            }
        }
        return result;
    }

    /// <summary>The photo whose backdrop replaces photo <paramref name="i"/>'s: another mall, another product.</summary>
    public static int BackgroundFor(IReadOnlyList<LabelledPhoto> photos, int i)
    {
        var n = photos.Count;
        for (var step = 0; step < n; step++)
        {
            // A fixed large stride scatters partners across the manifest (rows of one mall are usually adjacent).
            var j = (int)(((long)i * 7919 + n / 2 + step * 104729L) % n);
            if (j != i && photos[j].Group != photos[i].Group
                && (photos[j].Mall.Length == 0 || !string.Equals(photos[j].Mall, photos[i].Mall, StringComparison.Ordinal)))
            {
                return j;
            }
        }
        return (i + 1) % n;
    }

    /// <summary>
    /// <see cref="Extract"/> for each manifest on its own (so the other-background partners, and the cache entries, are
    /// the same as for that manifest alone), joined into one list as <see cref="ReadAll"/> numbers it.
    /// </summary>
    public static IReadOnlyList<PhotoSample> ExtractAll(
        FeatureExtractor extractor,
        IReadOnlyList<string> manifestCsvs,
        IReadOnlyCollection<EmbeddingSettings> settings,
        bool otherBackgrounds,
        IProgress<FeatureProgress>? progress = null,
        CancellationToken cancellationToken = default,
        int backgroundEvery = 1,
        Func<LabelledPhoto, bool>? backgroundWhere = null)
    {
        var all = ReadAll(manifestCsvs);
        var result = new List<PhotoSample>(all.Count);
        var offset = 0;
        foreach (var manifest in manifestCsvs)
        {
            var own = Read(manifest);
            var first = offset;
            var samples = Extract(extractor, own, settings, otherBackgrounds, null, cancellationToken, backgroundEvery,
                backgroundWhere is null ? null : p => backgroundWhere(all[first + p.Index]));
            foreach (var sample in samples)
            {
                result.Add(sample with { Photo = all[offset + sample.Photo.Index] });
            }
            offset += own.Count;
            progress?.Report(new FeatureProgress(result.Count, all.Count));
        }
        return result;
    }

    /// <summary>
    /// Features of every photo; with <paramref name="otherBackgrounds"/>, also of every
    /// <paramref name="backgroundEvery"/>-th photo's person on another backdrop (each costs two extra segmentations
    /// and the embeddings again, so a sample keeps the first run affordable on a small machine);
    /// <paramref name="backgroundWhere"/> narrows them further (e.g. to the one fold that is scored).
    /// </summary>
    public static IReadOnlyList<PhotoSample> Extract(
        FeatureExtractor extractor,
        IReadOnlyList<LabelledPhoto> photos,
        IReadOnlyCollection<EmbeddingSettings> settings,
        bool otherBackgrounds,
        IProgress<FeatureProgress>? progress = null,
        CancellationToken cancellationToken = default,
        int backgroundEvery = 1,
        Func<LabelledPhoto, bool>? backgroundWhere = null)
    {
        var samples = new PhotoSample[photos.Count];
        var bytes = new Dictionary<int, byte[]>();
        byte[] Bytes(int i) => bytes.TryGetValue(i, out var b) ? b : bytes[i] = File.ReadAllBytes(photos[i].Path);
        for (var i = 0; i < photos.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var studio = extractor.Extract(Bytes(i), settings);
            var other = otherBackgrounds && i % Math.Max(1, backgroundEvery) == 0 && (backgroundWhere?.Invoke(photos[i]) ?? true)
                ? extractor.ExtractOnBackground(Bytes(i), Bytes(BackgroundFor(photos, i)), settings)
                : null;
            samples[i] = new PhotoSample(photos[i], studio, other);
            bytes.Clear();
            progress?.Report(new FeatureProgress(i + 1, photos.Count));
        }
        return samples;
    }
}
