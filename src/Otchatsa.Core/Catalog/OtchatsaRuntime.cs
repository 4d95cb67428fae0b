using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Training;

namespace Otchatsa.Catalog;

/// <summary>
/// Everything needed to answer photos against one index: the engine (set up with the index's embedding view), the
/// opened index and the style classifier. One per process.
/// </summary>
public sealed class OtchatsaRuntime : IDisposable
{
    private OtchatsaRuntime(OutfitEngine engine, CatalogIndex index, IStyleClassifier classifier)
    {
        Engine = engine;
        Index = index;
        Recommender = new OutfitRecommender(engine, index, classifier);
    }

    public OutfitEngine Engine { get; }
    public CatalogIndex Index { get; }
    public OutfitRecommender Recommender { get; }

    /// <param name="indexDirectory">The index folder.</param>
    /// <param name="modelsPath">The models folder (see <see cref="ModelPaths.Locate"/>).</param>
    /// <param name="embedder">The embedder (see <see cref="ModelPaths.Locate"/>); an index built with the other one is refused.</param>
    /// <param name="embedderModel">A fine-tuned embedding network (see <see cref="ModelPaths.Locate"/>).</param>
    public static OtchatsaRuntime Open(
        string indexDirectory, string? modelsPath = null, Vision.EmbedderPrecision? embedder = null, string? embedderModel = null)
    {
        AtomicDirectory.Recover(indexDirectory);
        if (!Directory.Exists(indexDirectory))
        {
            throw new IndexIncompatibleException($"No index at '{indexDirectory}'. Build one with 'otchatsa index build'.", ["missing"]);
        }
        var manifest = IndexManifest.Load(indexDirectory);
        var engine = new OutfitEngine(ModelPaths.Locate(modelsPath, embedder, embedderModel), EmbeddingSettings.Parse(manifest.EmbeddingView));
        try
        {
            var index = CatalogIndex.Open(indexDirectory, IndexBuilder.ExpectedManifest(engine));
            return new OtchatsaRuntime(engine, index, StyleClassifiers.For(engine, index));
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Index.Dispose();
        Engine.Dispose();
    }
}

/// <summary>Chooses the style classifier: the trained head when one is installed for this view, else the kNN vote.</summary>
public static class StyleClassifiers
{
    /// <summary>
    /// The installed head mixed with the catalog's labelled neighbours (the head alone when the catalog has no
    /// labels), or the neighbour vote alone when no matching head is installed.
    /// </summary>
    public static IStyleClassifier For(OutfitEngine engine, ICatalogView catalog) =>
        TryLoadHead(engine, out _) is { } head
            ? new NeighbourMixedStyleClassifier(head, catalog)
            : new KnnStyleClassifier(catalog);

    /// <summary>
    /// The installed head (<see cref="ModelPaths.StyleHead"/>) when its model card says it was trained on the engine's
    /// embedding view with the same models; otherwise null, with the reason (a head fed another view's vectors would
    /// answer with confident nonsense, so a mismatch is never served).
    /// </summary>
    public static OnnxStyleHead? TryLoadHead(OutfitEngine engine, out string reason)
    {
        var path = engine.Models.StyleHead;
        if (path is null || !File.Exists(path))
        {
            reason = "no style head installed";
            return null;
        }
        var cardPath = StyleHeadCard.PathFor(path);
        if (!File.Exists(cardPath))
        {
            reason = $"the style head has no model card ({Path.GetFileName(cardPath)})";
            return null;
        }
        var card = StyleHeadCard.Load(cardPath);
        if (!string.Equals(card.EmbeddingView, engine.Settings.Name, StringComparison.Ordinal) || card.Dims != engine.Settings.Dimensions)
        {
            reason = $"the style head was trained on the '{card.EmbeddingView}' view, the index uses '{engine.Settings.Name}'";
            return null;
        }
        var expected = IndexBuilder.ExpectedManifest(engine).Models;
        var mismatch = expected.FirstOrDefault(m => !card.Models.Any(c => c.Role == m.Role && c.Sha256 == m.Sha256));
        if (mismatch is not null)
        {
            reason = $"the style head was trained with another {mismatch.Role} model";
            return null;
        }
        reason = "";
        return OnnxStyleHead.Load(path);
    }
}
