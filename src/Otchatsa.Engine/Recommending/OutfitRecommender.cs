using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Recommending;

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
    /// <summary>
    /// Below this top-style probability the answer says it is unsure and offers the closest styles, for classifiers
    /// without a calibrated threshold of their own (<see cref="IStyleHeadInfo.UnsureBelow"/>).
    /// </summary>
    public const float DefaultUnsureBelow = 0.45f;

    /// <summary>The "not sure" threshold in use: the head's calibrated one, else <see cref="DefaultUnsureBelow"/>.</summary>
    public float UnsureBelow => (Classifier as IStyleHeadInfo)?.UnsureBelow ?? DefaultUnsureBelow;

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
        var notAnOutfit = !LooksLikeOutfit(analysis);
        var styles = notAnOutfit ? [] : Classifier.Classify(analysis.Embedding, neighbors);
        var classifyMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var malls = strategy.Recommend(Catalog, analysis.Embedding, styles, neighbors);
        if (malls.Count == 0 && notAnOutfit)
        {
            // Without a style the seed rule has nothing to rank by; the most similar items are still worth showing.
            malls = new BlendStrategy().Recommend(Catalog, analysis.Embedding, styles, neighbors);
        }
        searchMs += clock.Elapsed.TotalMilliseconds;
        var top = styles.Count > 0 ? styles[0] : null;
        var unsure = top is null || top.Score < UnsureBelow;
        var recommendation = new Recommendation(
            top,
            styles.Take(TopStyleCount).ToArray(),
            malls,
            strategy.Name,
            unsure,
            notAnOutfit,
            unsure ? CertainParent(styles) : null);
        return new RecommendResult(analysis, recommendation, classifyMs, searchMs);
    }

    /// <summary>
    /// False when the head's prototypes say the photo is unlike every outfit it was trained on: below the head's
    /// threshold, or (with no person found) below a looser one — a shoe on white, a landscape, a screenshot.
    /// </summary>
    public bool LooksLikeOutfit(OutfitAnalysis analysis) => OutfitVerdict(Classifier as IStyleHeadInfo, analysis.Person.Found, analysis.Embedding);

    /// <summary>The decision behind <see cref="LooksLikeOutfit"/>, for a head, a person flag and an embedding.</summary>
    public static bool OutfitVerdict(IStyleHeadInfo? head, bool personFound, float[] embedding)
    {
        if (head?.OutfitThreshold is not { } threshold || head.OutfitSimilarity(embedding) is not { } similarity)
        {
            return true;
        }
        return similarity >= (personFound ? threshold - NotAnOutfitPersonMargin : threshold);
    }

    /// <summary>How much less like the training outfits a photo with a person found may be before it is "not an outfit".</summary>
    public const float NotAnOutfitPersonMargin = 0.03f;

    /// <summary>The parent category whose styles together reach the head's calibrated certainty, if any.</summary>
    private Styles.StyleParent? CertainParent(IReadOnlyList<StyleScore> styles)
    {
        if (styles.Count == 0 || Classifier is not IStyleHeadInfo info || info.ParentSureAbove >= 1f)
        {
            return null;
        }
        var best = styles.GroupBy(s => s.Style.Parent).Select(g => (Parent: g.Key, P: g.Sum(s => s.Score))).MaxBy(g => g.P);
        return best.P >= info.ParentSureAbove ? Styles.StyleTaxonomy.Parents.First(p => p.Id == best.Parent) : null;
    }
}
