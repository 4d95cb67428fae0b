using System.Text.Json;
using Otchatsa.Catalog;
using Otchatsa.Embeddings;
using Otchatsa.Evaluation;
using Otchatsa.Pipeline;
using Otchatsa.Vision;

namespace Otchatsa.Training;

/// <summary>
/// What <c>tools/embedder-train</c> learns from, described for a labelled manifest: every photo's labels, its
/// product-disjoint fold exactly as <c>otchatsa eval --folds</c> assigns it, and the keys under which the embedding
/// cache holds the engine's own vectors of its served views (crop and whole photo, each with its mirror) — as sent and
/// with the person pasted onto another photo's backdrop (the evaluation's other-background query, made for every
/// <c>backgroundEvery</c>-th photo). The training tool reads the vectors from the cache, so it sees exactly what
/// serving computes. No pixels and no vectors are written here.
/// </summary>
public static class EmbedderData
{
    /// <summary>
    /// The cache units of the served view's pictures and their mirrors, named as the views are (<c>crop</c>,
    /// <c>crop~mirror</c>, <c>whole</c>, …, <c>lower~mirror</c>): `tools/embedder-train` reads crop and whole,
    /// `tools/style-probe --halves` the person's halves too.
    /// </summary>
    public static readonly (string Name, OutfitView View, bool Mirrored)[] Units =
    [
        .. OutfitViews.PicturesOf(EmbeddingSettings.Default.View).SelectMany(view => new[]
        {
            (EmbeddingSettings.NameOf(view), view, false), (EmbeddingSettings.NameOf(view) + "~mirror", view, true),
        }),
    ];

    /// <summary>
    /// Each manifest's photos (as <see cref="LabelledPhotos.Read"/> numbers them) with their folds exactly as
    /// <c>otchatsa eval --folds <paramref name="folds"/> --queries</c> assigns them with these manifests in this
    /// order: over all of them together (<see cref="LabelledPhotos.ReadAll"/>), not per manifest.
    /// </summary>
    public static IReadOnlyList<(IReadOnlyList<LabelledPhoto> Photos, int[] Folds)> FoldsAsEvaluated(
        IReadOnlyList<string> manifests, int folds, int seed)
    {
        var assignment = CrossValidation.ProductFolds(LabelledPhotos.ReadAll(manifests), folds, seed);
        var offset = 0;
        var result = new List<(IReadOnlyList<LabelledPhoto>, int[])>();
        foreach (var manifest in manifests)
        {
            var photos = LabelledPhotos.Read(manifest);
            result.Add((photos, assignment.AsSpan(offset, photos.Count).ToArray()));
            offset += photos.Count;
        }
        return result;
    }

    /// <summary>Every photo's cache key (<see cref="EmbeddingCache.ImageKey"/> of its file).</summary>
    public static byte[][] Keys(IReadOnlyList<LabelledPhoto> photos) =>
        photos.Select(p => EmbeddingCache.ImageKey(File.ReadAllBytes(p.Path))).ToArray();

    /// <summary>
    /// Writes the description of one manifest's photos; <paramref name="assignment"/> holds each photo's fold as
    /// <see cref="CrossValidation.ProductFolds"/> assigned it over <paramref name="foldedWith"/> (the manifests of
    /// <c>eval --queries</c>, in order), which the description records.
    /// </summary>
    public static void Write(FeatureExtractor extractor, string manifestCsv, IReadOnlyList<string> foldedWith, IReadOnlyList<LabelledPhoto> photos,
        IReadOnlyList<byte[]> keys, IReadOnlyList<int> assignment, int seed, int backgroundEvery, Stream output)
    {
        var rows = photos.Select(p =>
        {
            var backdrop = LabelledPhotos.BackgroundFor(photos, p.Index);
            var other = p.Index % Math.Max(1, backgroundEvery) == 0;
            return new
            {
                index = p.Index,
                image = p.Row.Image,
                key = Convert.ToHexStringLower(keys[p.Index]),
                mall = p.Mall,
                group = p.Group,
                style = p.Style?.Id,
                substyle = p.Substyle?.Id,
                garments = p.Row.Garments,
                fold = assignment[p.Index],
                other_key = other
                    ? Convert.ToHexStringLower(EmbeddingCache.DerivedKey(FeatureExtractor.SwapRecipe, keys[p.Index], keys[backdrop]))
                    : null,
                backdrop = other ? backdrop : (int?)null,
                backdrop_fold = other ? assignment[backdrop] : (int?)null,
                // Every photo on its backdrop (the pixels file's second condition, for training the last stage).
                swap_key = Convert.ToHexStringLower(EmbedderPixels.SwapKey(photos, keys, p.Index)),
                swap_backdrop_fold = assignment[backdrop],
            };
        }).ToArray();
        JsonSerializer.Serialize(output, new
        {
            manifest = Path.GetFullPath(manifestCsv),
            manifest_sha256 = IndexManifest.Sha256OfFile(manifestCsv),
            cache = extractor.Cache.Directory,
            models_key = extractor.Cache.ModelsKey,
            units = Units.ToDictionary(u => u.Name, u => FeatureExtractor.UnitName(u.View, u.Mirrored)),
            dims = ResNetEmbedder.Dimensions,
            folds = assignment.Max() + 1,
            folded_with = foldedWith.Select(Path.GetFullPath).ToArray(),
            seed,
            background_every = backgroundEvery,
            photos = rows,
        }, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
