using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Features;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Training;

namespace Otchatsa.Evaluation;

/// <summary>Which queries a result is about: the photos as sent, or their people pasted onto other backgrounds.</summary>
public static class QuerySets
{
    public const string InStudio = "in-studio";
    public const string OtherBackground = "other-background";
}

/// <summary>Style, mall and item numbers for one set of queries.</summary>
public sealed record ConditionResult(string Queries, StyleMetrics Style, IReadOnlyList<StrategyMetrics> Strategies);

/// <summary>All numbers of one embedding view.</summary>
public sealed record ViewResult(string View, int Folds, int Photos, IReadOnlyList<ConditionResult> Conditions, double Seconds);

/// <summary>Settings of a product-disjoint cross-validation run.</summary>
public sealed record CrossValidationSettings
{
    public required EmbeddingSettings View { get; init; }
    public int Folds { get; init; } = 5;
    public int Seed { get; init; } = 1;
    public StyleHeadOptions Head { get; init; } = new();
    public BlendOptions Blend { get; init; } = new();

    /// <summary>Strategies to score side by side (none: style only, as for the model card).</summary>
    public IReadOnlyList<string> Strategies { get; init; } = ["blend", "seed"];

    /// <summary>Also score the other-background queries (they must have been extracted).</summary>
    public bool OtherBackgrounds { get; init; } = true;
}

/// <summary>
/// Product-disjoint k-fold cross-validation on one labelled manifest: per fold, a style head is trained and an
/// in-memory index built from the other folds' cached vectors, and the fold's photos are the queries. Nothing of a
/// query's product is in its fold's head or index.
/// </summary>
public static class CrossValidation
{
    /// <summary>
    /// Assigns each photo a fold so that all photos of one product share it; groups are dealt largest first to the
    /// currently smallest fold (in a seeded shuffled order among equal sizes), which keeps folds even.
    /// </summary>
    public static int[] ProductFolds(IReadOnlyList<LabelledPhoto> photos, int folds, int seed)
    {
        if (folds < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), "Cross-validation needs at least two folds.");
        }
        var random = new Random(seed);
        var groups = photos.GroupBy(p => p.Group, StringComparer.Ordinal)
            .Select(g => (Members: g.ToArray(), Tie: random.Next()))
            .OrderByDescending(g => g.Members.Length)
            .ThenBy(g => g.Tie)
            .ToArray();
        var sizes = new int[folds];
        var assignment = new int[photos.Count];
        foreach (var (members, _) in groups)
        {
            var fold = Array.IndexOf(sizes, sizes.Min());
            foreach (var p in members)
            {
                assignment[p.Index] = fold;
            }
            sizes[fold] += members.Length;
        }
        return assignment;
    }

    public static ViewResult Run(IReadOnlyList<PhotoSample> samples, CrossValidationSettings settings, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var folds = ProductFolds(samples.Select(s => s.Photo).ToArray(), settings.Folds, settings.Seed);
        var conditions = new List<string> { QuerySets.InStudio };
        if (settings.OtherBackgrounds && samples.Any(s => s.OtherBackground is not null))
        {
            conditions.Add(QuerySets.OtherBackground);
        }
        var styleTallies = conditions.ToDictionary(c => c, _ => new StyleTally());
        var strategyTallies = conditions.ToDictionary(c => c, _ => settings.Strategies.Select(s => new StrategyTally(s)).ToArray());
        var strategies = settings.Strategies.Select(s => CreateStrategy(s, settings.Blend)).ToArray();

        for (var fold = 0; fold < settings.Folds; fold++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var train = samples.Where(s => folds[s.Photo.Index] != fold).ToArray();
            var test = samples.Where(s => folds[s.Photo.Index] == fold).ToArray();
            using var head = TrainHead(train, settings.View, settings.Head);
            using var index = BuildIndex(train, settings.View);
            // As served: the head mixed with the fold index's labelled neighbours.
            var classifier = new NeighbourMixedStyleClassifier(head, index);
            foreach (var condition in conditions)
            {
                var queries = QueriesOf(test, condition, settings.View);
                Score(queries, classifier, index, strategies, settings.Blend.Candidates, styleTallies[condition], strategyTallies[condition]);
            }
        }
        return new ViewResult(
            settings.View.Name,
            settings.Folds,
            samples.Count,
            conditions.Select(c => new ConditionResult(c, styleTallies[c].Metrics(), strategyTallies[c].Select(t => t.Metrics()).ToArray())).ToArray(),
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>Scores queries against one index and classifier (also used for a built index on disk).</summary>
    public static void Score(
        IReadOnlyList<(LabelledPhoto Photo, float[] Vector)> queries,
        IStyleClassifier classifier,
        ICatalogView? index,
        IReadOnlyList<IRecommendationStrategy> strategies,
        int candidates,
        StyleTally styleTally,
        IReadOnlyList<StrategyTally> strategyTallies)
    {
        var mallSizes = index?.Malls.ToDictionary(m => m.Key, m => m.Value.ItemCount, StringComparer.Ordinal);
        foreach (var (photo, vector) in queries)
        {
            var neighbors = index?.Search(vector, candidates) ?? [];
            var styles = classifier.Classify(vector, neighbors);
            if (photo.Style is not null)
            {
                styleTally.Add(photo.Style, styles, classifier.Classes);
            }
            if (index is null)
            {
                continue;
            }
            var eligibleMall = photo.Mall.Length > 0 && mallSizes!.GetValueOrDefault(photo.Mall) >= 3 ? photo.Mall : null;
            for (var i = 0; i < strategies.Count; i++)
            {
                strategyTallies[i].Add(strategies[i].Recommend(index, vector, styles, neighbors), eligibleMall, photo.Row.Garments);
            }
        }
    }

    /// <summary>The query vectors of one condition (other-background queries exist for a sample of the photos).</summary>
    public static (LabelledPhoto Photo, float[] Vector)[] QueriesOf(IEnumerable<PhotoSample> samples, string condition, EmbeddingSettings view) =>
        condition == QuerySets.InStudio
            ? samples.Select(s => (s.Photo, s.InStudio.Vector(view))).ToArray()
            : samples.Where(s => s.OtherBackground is not null).Select(s => (s.Photo, s.OtherBackground!.Vector(view))).ToArray();

    public static IRecommendationStrategy CreateStrategy(string name, BlendOptions blend) =>
        name.Equals("blend", StringComparison.OrdinalIgnoreCase) ? new BlendStrategy(blend) : Strategies.Create(name);

    /// <summary>Trains a head on the samples' in-studio vectors and loads its ONNX export, exactly as serving would.</summary>
    public static OnnxStyleHead TrainHead(IReadOnlyList<PhotoSample> train, EmbeddingSettings view, StyleHeadOptions options)
    {
        var trained = StyleHeadTrainer.Train(Examples(train, view), options);
        return OnnxStyleHead.Load(StyleHeadOnnx.ToOnnx(trained.Head, view.Name));
    }

    public static IReadOnlyList<StyleExample> Examples(IReadOnlyList<PhotoSample> samples, EmbeddingSettings view) =>
        samples.Where(s => s.Photo.Style is not null)
            .Select(s => new StyleExample(s.InStudio.Vector(view), s.Photo.Style!, s.Photo.Substyle))
            .ToArray();

    /// <summary>An in-memory index of the samples' in-studio vectors, as <c>index build</c> would store them.</summary>
    public static CatalogIndex BuildIndex(IReadOnlyList<PhotoSample> samples, EmbeddingSettings view)
    {
        var items = samples.Select(s => (CatalogItem.FromRow(s.Photo.Row) with { Id = s.Photo.Index + 1 }, s.InStudio.Vector(view))).ToArray();
        return CatalogIndex.InMemory(items, view.Dimensions);
    }
}
