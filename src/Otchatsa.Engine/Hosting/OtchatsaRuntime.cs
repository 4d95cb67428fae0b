using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Catalog;
using Otchatsa.Styles;

namespace Otchatsa.Hosting;

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
    /// <param name="embedderModel">
    /// The embedding network (see <see cref="ModelPaths.Locate"/>); when null and the index was built with our fashion
    /// embedder, that one, so the worker and the page serve such an index without being told.
    /// </param>
    public static OtchatsaRuntime Open(
        string indexDirectory, string? modelsPath = null, Vision.EmbedderPrecision? embedder = null, string? embedderModel = null)
    {
        AtomicDirectory.Recover(indexDirectory);
        if (!Directory.Exists(indexDirectory))
        {
            throw new IndexIncompatibleException($"No index at '{indexDirectory}'. Build one with 'otchatsa index build'.", ["missing"]);
        }
        var manifest = IndexManifest.Load(indexDirectory);
        if (embedderModel is null
            && manifest.Models.FirstOrDefault(m => m.Role == "embedding")?.Id is { } built
            && built.StartsWith(ModelPaths.FashionId, StringComparison.Ordinal))
        {
            embedderModel = ModelPaths.FashionModel;
        }
        var engine = new OutfitEngine(ModelPaths.Locate(modelsPath, embedder, embedderModel), EmbeddingSettings.Parse(manifest.EmbeddingView));
        try
        {
            var index = CatalogIndex.Open(indexDirectory, IndexManifest.Expected(engine));
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
