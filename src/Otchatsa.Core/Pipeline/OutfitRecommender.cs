using System.Diagnostics;
using Otchatsa.Recommending;

namespace Otchatsa.Pipeline;

/// <summary>An analysed photo with its recommendation and the time the catalog stages took.</summary>
public sealed record RecommendResult(
    OutfitAnalysis Analysis,
    Recommendation Recommendation,
    double ClassifyMs,
    double SearchMs)
{
    public double TotalMs => Analysis.Timings.Total + ClassifyMs + SearchMs;
}

/// <summary>
/// The whole engine for one catalog: photo → analysis → neighbours → style → malls and items. Thread-safe; the CLI,
/// the chat bots and the web page share one instance per process.
/// </summary>
public sealed class OutfitRecommender(OutfitEngine engine, ICatalogView catalog, IStyleClassifier classifier)
{
    /// <summary>Below this top-style probability the answer says it is unsure and offers the closest styles.</summary>
    public const float UnsureBelow = 0.45f;

    public const int TopStyleCount = 3;

    public OutfitEngine Engine { get; } = engine;
    public ICatalogView Catalog { get; } = catalog;
    public IStyleClassifier Classifier { get; } = classifier;

    public RecommendResult Recommend(byte[] photo, IRecommendationStrategy strategy) =>
        Recommend(Engine.Analyze(photo), strategy);

    public RecommendResult Recommend(OutfitAnalysis analysis, IRecommendationStrategy strategy)
    {
        var clock = Stopwatch.StartNew();
        var neighbors = Catalog.Search(analysis.Embedding, new BlendOptions().Candidates);
        var searchMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var styles = Classifier.Classify(analysis.Embedding, neighbors);
        var classifyMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var malls = strategy.Recommend(Catalog, analysis.Embedding, styles, neighbors);
        searchMs += clock.Elapsed.TotalMilliseconds;
        var top = styles.Count > 0 ? styles[0] : null;
        var recommendation = new Recommendation(
            top,
            styles.Take(TopStyleCount).ToArray(),
            malls,
            strategy.Name,
            top is null || top.Score < UnsureBelow);
        return new RecommendResult(analysis, recommendation, classifyMs, searchMs);
    }
}
