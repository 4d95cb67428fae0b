using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Evaluation;

/// <summary>Precision, recall and F1 of one style, over the queries labelled with it (<see cref="Support"/>).</summary>
public sealed record ClassMetrics(string Id, double Precision, double Recall, double F1, int Support);

/// <summary>Style accuracy over a set of queries, with the confusion matrix (rows = true style, columns = predicted).</summary>
/// <remarks>Macro-F1 averages the classes that occur as true styles among the queries.</remarks>
public sealed record StyleMetrics(
    int Queries,
    int Excluded,
    double Top1,
    double Top3,
    double MacroF1,
    IReadOnlyList<string> Classes,
    IReadOnlyList<ClassMetrics> PerClass,
    int[][] Confusion)
{
    /// <summary>Expected calibration error of the top-1 confidence (15 equal-width bins), over <see cref="Queries"/>.</summary>
    public double Ece { get; init; }

    /// <summary>The reliability diagram behind <see cref="Ece"/>: per bin, count, mean confidence and accuracy.</summary>
    public IReadOnlyList<ReliabilityBin> Reliability { get; init; } = [];

    /// <summary>How many classes were predicted at least once.</summary>
    public int ClassesNamed => Classes.Where((_, k) => Confusion.Sum(row => row[k]) > 0).Count();

    /// <summary>Share of queries whose top style is under the right parent category.</summary>
    public double ParentTop1 { get; init; }

    /// <summary>Parent ids (taxonomy order) and the parent-level confusion of the top style (rows: true parent).</summary>
    public IReadOnlyList<string> Parents { get; init; } = [];

    public int[][] ParentConfusion { get; init; } = [];
}

/// <summary>One bin of a reliability diagram.</summary>
public sealed record ReliabilityBin(double Low, double High, int Count, double MeanConfidence, double Accuracy);

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
    private readonly List<(double Confidence, bool Correct)> _confidences = [];

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
        _confidences.Add((ranked[0].Score, predicted == truth.Id));
    }

    /// <summary>Expected calibration error and the reliability bins of (confidence, correct) pairs.</summary>
    public static (double Ece, IReadOnlyList<ReliabilityBin> Bins) Calibration(IReadOnlyList<(double Confidence, bool Correct)> pairs, int bins = 15)
    {
        var result = new List<ReliabilityBin>();
        var ece = 0.0;
        for (var b = 0; b < bins; b++)
        {
            double lo = b / (double)bins, hi = (b + 1) / (double)bins;
            var members = pairs.Where(p => (p.Confidence > lo || (b == 0 && p.Confidence >= 0)) && p.Confidence <= hi).ToArray();
            if (members.Length == 0)
            {
                result.Add(new ReliabilityBin(lo, hi, 0, 0, 0));
                continue;
            }
            var confidence = members.Average(p => p.Confidence);
            var accuracy = members.Average(p => p.Correct ? 1.0 : 0.0);
            ece += members.Length / (double)pairs.Count * Math.Abs(confidence - accuracy);
            result.Add(new ReliabilityBin(lo, hi, members.Length, confidence, accuracy));
        }
        return (pairs.Count == 0 ? 0 : ece, result);
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
        var parents = StyleTaxonomy.Parents.Select(p => p.Id)
            .Where(p => classes.Any(c => StyleTaxonomy.Get(c).Parent == p)).ToArray();
        var parentConfusion = parents.Select(_ => new int[parents.Length]).ToArray();
        var parentHits = 0;
        foreach (var ((t, pr), n) in _pairs)
        {
            int ti = Array.IndexOf(parents, StyleTaxonomy.Get(t).Parent), pi = Array.IndexOf(parents, StyleTaxonomy.Get(pr).Parent);
            parentConfusion[ti][pi] += n;
            parentHits += ti == pi ? n : 0;
        }
        var (ece, bins) = Calibration(_confidences);
        return new StyleMetrics(
            _queries,
            _excluded,
            _queries == 0 ? 0 : _top1 / (double)_queries,
            _queries == 0 ? 0 : _top3 / (double)_queries,
            perClass.Any(c => c.Support > 0) ? perClass.Where(c => c.Support > 0).Average(c => c.F1) : 0,
            classes,
            perClass,
            confusion)
        {
            Ece = ece,
            Reliability = bins,
            ParentTop1 = _queries == 0 ? 0 : parentHits / (double)_queries,
            Parents = parents,
            ParentConfusion = parentConfusion,
        };
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
