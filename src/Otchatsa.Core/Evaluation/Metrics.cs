using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Evaluation;

/// <summary>Precision, recall and F1 of one style, over the queries labelled with it (<see cref="Support"/>).</summary>
public sealed record ClassMetrics(string Id, double Precision, double Recall, double F1, int Support);

/// <summary>Style accuracy over a set of queries, with the confusion matrix (rows = true style, columns = predicted).</summary>
public sealed record StyleMetrics(
    int Queries,
    int Excluded,
    double Top1,
    double Top3,
    double MacroF1,
    IReadOnlyList<string> Classes,
    IReadOnlyList<ClassMetrics> PerClass,
    int[][] Confusion);

/// <summary>Mall and item quality of one strategy.</summary>
public sealed record StrategyMetrics(
    string Strategy,
    double MallRecallAt3,
    int MallQueries,
    double GarmentPrecision,
    int GarmentItems);

/// <summary>Accumulates style predictions; the class list grows as folds bring their heads' classes.</summary>
public sealed class StyleTally
{
    private readonly List<string> _classes = [];
    private readonly Dictionary<(string True, string Predicted), int> _pairs = [];
    private int _queries;
    private int _excluded;
    private int _top1;
    private int _top3;

    /// <summary>Records one query; a query whose true style the head does not know is counted as excluded.</summary>
    public void Add(FashionStyle truth, IReadOnlyList<StyleScore> ranked, IReadOnlyList<FashionStyle> headClasses)
    {
        foreach (var c in headClasses.Where(c => !_classes.Contains(c.Id)))
        {
            _classes.Add(c.Id);
        }
        if (!headClasses.Any(c => c.Id == truth.Id) || ranked.Count == 0)
        {
            _excluded++;
            return;
        }
        _queries++;
        var predicted = ranked[0].Style.Id;
        _top1 += predicted == truth.Id ? 1 : 0;
        _top3 += ranked.Take(3).Any(s => s.Style.Id == truth.Id) ? 1 : 0;
        _pairs[(truth.Id, predicted)] = _pairs.GetValueOrDefault((truth.Id, predicted)) + 1;
    }

    public StyleMetrics Metrics()
    {
        var classes = StyleTaxonomy.All.Select(s => s.Id).Where(_classes.Contains).ToArray();
        var confusion = classes.Select(t => classes.Select(p => _pairs.GetValueOrDefault((t, p))).ToArray()).ToArray();
        var perClass = classes.Select((id, k) =>
        {
            var tp = confusion[k][k];
            var support = confusion[k].Sum();
            var predicted = confusion.Sum(row => row[k]);
            var precision = predicted == 0 ? 0 : tp / (double)predicted;
            var recall = support == 0 ? 0 : tp / (double)support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            return new ClassMetrics(id, precision, recall, f1, support);
        }).ToArray();
        return new StyleMetrics(
            _queries,
            _excluded,
            _queries == 0 ? 0 : _top1 / (double)_queries,
            _queries == 0 ? 0 : _top3 / (double)_queries,
            perClass.Length == 0 ? 0 : perClass.Average(c => c.F1),
            classes,
            perClass,
            confusion);
    }
}

/// <summary>Accumulates mall hits and garment matches of one strategy.</summary>
public sealed class StrategyTally(string strategy)
{
    private int _mallQueries;
    private int _mallHits;
    private int _items;
    private int _itemMatches;

    public string Strategy { get; } = strategy;

    /// <param name="malls">The strategy's answer.</param>
    /// <param name="mall">The query's mall, or null when it is not eligible (no mall, or fewer than three photos of it in the index).</param>
    /// <param name="garments">The query's garment categories (empty: items are not scored).</param>
    public void Add(IReadOnlyList<MallMatch> malls, string? mall, IReadOnlyList<string> garments)
    {
        if (mall is not null)
        {
            _mallQueries++;
            _mallHits += malls.Take(3).Any(m => m.Mall.Name == mall) ? 1 : 0;
        }
        if (garments.Count > 0)
        {
            foreach (var item in malls.SelectMany(m => m.Items))
            {
                _items++;
                _itemMatches += item.Item.Garments.Any(g => garments.Contains(g)) ? 1 : 0;
            }
        }
    }

    public StrategyMetrics Metrics() => new(
        Strategy,
        _mallQueries == 0 ? 0 : _mallHits / (double)_mallQueries,
        _mallQueries,
        _items == 0 ? 0 : _itemMatches / (double)_items,
        _items);
}

/// <summary>Percentiles of a list of durations.</summary>
public static class Percentiles
{
    public static double Of(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}
