using Otchatsa.Pipeline;
using Otchatsa.Recommending;

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

    public static OtchatsaRuntime Open(string indexDirectory, string? modelsPath = null)
    {
        if (!Directory.Exists(indexDirectory))
        {
            throw new DirectoryNotFoundException($"No index at '{indexDirectory}'. Build one with 'otchatsa index build'.");
        }
        var manifest = IndexManifest.Load(indexDirectory);
        var engine = new OutfitEngine(ModelPaths.Locate(modelsPath), EmbeddingSettings.Parse(manifest.EmbeddingView));
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
    public static IStyleClassifier For(OutfitEngine engine, ICatalogView catalog) => new KnnStyleClassifier(catalog);
}
