using Otchatsa.Indexing;
using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Embeddings;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Training;

namespace Otchatsa.Evaluation;

/// <summary>Which queries a result is about: the photos as sent, or their people pasted onto other backgrounds.</summary>
public static class QuerySets
{
    public const string InStudio = "in-studio";
    public const string OtherBackground = "other-background";
}

/// <summary>Style, mall and item numbers for one set of queries; <paramref name="HeadOnly"/>: the head alone, calibrated.</summary>
public sealed record ConditionResult(string Queries, StyleMetrics Style, IReadOnlyList<StrategyMetrics> Strategies, StyleMetrics? HeadOnly = null);

/// <summary>
/// What cross-validation fitted for serving, from out-of-fold predictions: the temperatures of the head alone and of
/// the head mixed with the neighbour vote, the "not sure" and "parent certain" thresholds, and the outfit threshold.
/// </summary>
public sealed record CalibrationFit(
    float HeadTemperature,
    float MixTemperature,
    float MixTemperatureSlope,
    float UnsureBelow,
    float ParentSureAbove,
    float OutfitThreshold,
    string FittedOn)
{
    /// <summary>Share of real outfits (out of fold, in-studio / other-background) the rule calls "not an outfit".</summary>
    public double NotAnOutfitInStudio { get; init; }

    public double NotAnOutfitOtherBackground { get; init; }
}

/// <summary>All numbers of one embedding view.</summary>
public sealed record ViewResult(string View, int Folds, int Photos, IReadOnlyList<ConditionResult> Conditions, double Seconds)
{
    public CalibrationFit? Calibration { get; init; }

    /// <summary>With <see cref="CrossValidationSettings.OnlyFold"/>: the scored fold's predictions, for <see cref="CrossValidation.FromHeldOut"/>.</summary>
    public IReadOnlyList<HeldOutPrediction>? HeldOut { get; init; }
}

/// <summary>
/// One query's prediction on a held-out fold, as calibration needs it (uncalibrated head and mixed distributions over
/// <paramref name="Classes"/>, the closest labelled neighbour's similarity, the outfit similarity, whether a person was
/// found). <c>eval --fold K --held-out FILE</c> writes them for the scored fold only: with an embedder trained without
/// that fold, they are what the served head meets on photos no network has seen, unlike the training photos' own vectors.
/// </summary>
public sealed record HeldOutPrediction(
    string Source, string Set, string? Style, string[] Classes, float[] Head, float[] Mixed, float TopSimilarity, float Outfit, bool Person);

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

    /// <summary>
    /// The source (manifest folder) whose out-of-fold predictions fit the temperatures and thresholds; null = all.
    /// Default: the 23-style sample when present, the only balanced one.
    /// </summary>
    public string? CalibrateOn { get; init; } = "kfashion23";

    public float NeighbourWeight { get; init; } = NeighbourMixedStyleClassifier.NeighbourWeight;

    public float VotePriorPower { get; init; } = NeighbourMixedStyleClassifier.VotePriorPower;

    public float EvidenceStrength { get; init; } = NeighbourMixedStyleClassifier.EvidenceStrength;

    /// <summary>Let the mixed temperature depend on the closest labelled neighbour's similarity (two parameters instead of one).</summary>
    public bool CalibrateSlope { get; init; }

    /// <summary>Answers at or above the "not sure" threshold must have been right this often on the folds.</summary>
    public double SurePrecision { get; init; } = 0.6;

    /// <summary>Share of real outfits (out of fold) allowed below the outfit threshold.</summary>
    public double OutfitFalseRate { get; init; } = 0.005;

    /// <summary>
    /// Score only this fold (0-based; heads, indexes and calibration from the folds as usual): for a model trained on
    /// the other folds' photos, e.g. an embedder from <c>tools/embedder-train</c>.
    /// </summary>
    public int? OnlyFold { get; init; }
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

    private sealed record Record(
        int Fold, string Condition, string Source, LabelledPhoto Photo, float[] Vector, Neighbor[] Neighbors,
        float[] Head, float[] Mixed, float Outfit, float TopSimilarity, IReadOnlyList<Styles.FashionStyle> Classes, bool Person = true);

    public static ViewResult Run(IReadOnlyList<PhotoSample> samples, CrossValidationSettings settings, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var folds = ProductFolds(samples.Select(s => s.Photo).ToArray(), settings.Folds, settings.Seed);
        var sources = samples.Select(s => s.Photo.Source).Distinct(StringComparer.Ordinal).ToArray();
        var conditions = Conditions(samples, settings, sources);
        var strategies = settings.Strategies.Select(s => CreateStrategy(s, settings.Blend)).ToArray();
        var indexes = new List<CatalogIndex>();
        try
        {
            var records = Predict(samples, folds, settings, conditions, indexes, cancellationToken);
            var temperatures = Calibrate(records, settings, sources);
            var tallies = Score(records, temperatures, indexes, strategies, settings, conditions);
            return Result(samples, settings, sources, conditions, records, temperatures, tallies, clock);
        }
        finally
        {
            foreach (var index in indexes)
            {
                index.Dispose();
            }
        }
    }

    /// <summary>The query conditions (name in the report, manifest, query set): in-studio, and other backgrounds when made, per manifest.</summary>
    private static List<(string Name, string Source, string Set)> Conditions(
        IReadOnlyList<PhotoSample> samples, CrossValidationSettings settings, string[] sources)
    {
        string Name(string source, string condition) => sources.Length > 1 ? $"{source} {condition}" : condition;
        var conditions = new List<(string Name, string Source, string Set)>();
        foreach (var source in sources)
        {
            conditions.Add((Name(source, QuerySets.InStudio), source, QuerySets.InStudio));
            if (settings.OtherBackgrounds && samples.Any(s => s.Photo.Source == source && s.OtherBackground is not null))
            {
                conditions.Add((Name(source, QuerySets.OtherBackground), source, QuerySets.OtherBackground));
            }
        }
        return conditions;
    }

    /// <summary>
    /// Pass 1: per fold, the head (uncalibrated) and the fold's index (added to <paramref name="indexes"/>, which the
    /// caller disposes); every query's head and mixed distributions.
    /// </summary>
    private static List<Record> Predict(
        IReadOnlyList<PhotoSample> samples, int[] folds, CrossValidationSettings settings,
        List<(string Name, string Source, string Set)> conditions, List<CatalogIndex> indexes, CancellationToken cancellationToken)
    {
        var records = new List<Record>();
        var byIndex = samples.ToDictionary(s => s.Photo.Index);
        for (var fold = 0; fold < settings.Folds; fold++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var train = samples.Where(s => folds[s.Photo.Index] != fold).ToArray();
            var test = samples.Where(s => folds[s.Photo.Index] == fold).ToArray();
            using var head = TrainHead(train, settings.View, settings.Head with { Temperature = 1f });
            var index = BuildIndex(train, settings.View);
            indexes.Add(index);
            var mixed = new NeighbourMixedStyleClassifier(head, index, mixTemperature: 1f, settings.NeighbourWeight, settings.VotePriorPower, settings.EvidenceStrength);
            foreach (var (name, source, set) in conditions)
            {
                foreach (var (photo, vector) in QueriesOf(test.Where(s => s.Photo.Source == source), set, settings.View))
                {
                    var neighbors = index.Search(vector, settings.Blend.Candidates).ToArray();
                    var h = head.Probabilities([vector])[0];
                    var m = Ordered(mixed.Classify(vector, neighbors), head.Classes);
                    var person = (set == QuerySets.InStudio ? byIndex[photo.Index].InStudio : byIndex[photo.Index].OtherBackground!).Person.Found;
                    records.Add(new Record(fold, name, source, photo, vector, neighbors, h, m, head.OutfitSimilarity(vector) ?? 1f,
                        mixed.TopLabelledSimilarity(neighbors), head.Classes, person));
                }
            }
        }
        return records;
    }

    /// <summary>Temperatures per fold (fitted on the other folds' in-studio queries) and over all of them, and those queries.</summary>
    private sealed record Temperatures(Record[] Calibrating, float[] Head, (float T0, float Slope)[] Mix, float AllHead, (float T0, float Slope) AllMix);

    /// <summary>Calibration, cross-fitted: fold f's queries are calibrated with what the other folds' queries say.</summary>
    private static Temperatures Calibrate(List<Record> records, CrossValidationSettings settings, string[] sources)
    {
        var calibrating = records.Where(r => r.Condition.EndsWith(QuerySets.InStudio, StringComparison.Ordinal)
                                             && (settings.CalibrateOn is null || !sources.Contains(settings.CalibrateOn) || r.Source == settings.CalibrateOn)).ToArray();
        TemperatureFitting.Labelled[] Labelled(IEnumerable<Record> rs, bool mix) => rs
            .Where(r => r.Photo.Style is not null && r.Classes.Any(c => c.Id == r.Photo.Style.Id))
            .Select(r => new TemperatureFitting.Labelled(mix ? r.Mixed : r.Head, IndexOf(r.Classes, r.Photo.Style!), r.TopSimilarity))
            .ToArray();
        var headT = new float[settings.Folds];
        var mixT = new (float T0, float Slope)[settings.Folds];
        for (var f = 0; f < settings.Folds; f++)
        {
            headT[f] = TemperatureFitting.FitTemperature(Labelled(calibrating.Where(r => r.Fold != f), mix: false));
            mixT[f] = MixTemperature(Labelled(calibrating.Where(r => r.Fold != f), mix: true), settings);
        }
        var allHeadT = TemperatureFitting.FitTemperature(Labelled(calibrating, mix: false));
        var allMixT = MixTemperature(Labelled(calibrating, mix: true), settings);
        return new Temperatures(calibrating, headT, mixT, allHeadT, allMixT);
    }

    /// <summary>The mixed distribution's temperature: one value, or a curve over the closest labelled neighbour's similarity.</summary>
    private static (float T0, float Slope) MixTemperature(IReadOnlyList<TemperatureFitting.Labelled> labelled, CrossValidationSettings settings) =>
        settings.CalibrateSlope ? TemperatureFitting.FitTemperatureCurve(labelled) : (TemperatureFitting.FitTemperature(labelled), 0f);

    /// <summary>What pass 2 counts: style and strategy tallies per condition, and the answers the thresholds are fitted on.</summary>
    private sealed class Tallies(List<(string Name, string Source, string Set)> conditions, IReadOnlyList<string> strategies)
    {
        public Dictionary<string, StyleTally> Style { get; } = conditions.ToDictionary(c => c.Name, _ => new StyleTally());
        public Dictionary<string, StyleTally> Head { get; } = conditions.ToDictionary(c => c.Name, _ => new StyleTally());
        public Dictionary<string, StrategyTally[]> Strategy { get; } =
            conditions.ToDictionary(c => c.Name, _ => strategies.Select(s => new StrategyTally(s)).ToArray());
        public List<(double Confidence, bool Correct)> Answers { get; } = [];
        public List<(double Confidence, bool Correct)> ParentAnswers { get; } = [];
        public List<float> OutfitScores { get; } = [];
    }

    /// <summary>Pass 2: the calibrated distributions, as served, through the strategies.</summary>
    private static Tallies Score(
        List<Record> records, Temperatures t, List<CatalogIndex> indexes, IRecommendationStrategy[] strategies,
        CrossValidationSettings settings, List<(string Name, string Source, string Set)> conditions)
    {
        var tallies = new Tallies(conditions, settings.Strategies);
        foreach (var r in records)
        {
            var index = indexes[r.Fold];
            var served = Rank(Calibration.Apply(r.Mixed, Calibration.TemperatureAt(t.Mix[r.Fold].T0, t.Mix[r.Fold].Slope, r.TopSimilarity)), r.Classes);
            var headOnly = Rank(Calibration.Apply(r.Head, t.Head[r.Fold]), r.Classes);
            var scored = settings.OnlyFold is not { } only || r.Fold == only;
            if (r.Photo.Style is { } truth)
            {
                if (scored)
                {
                    tallies.Style[r.Condition].Add(truth, served, r.Classes);
                    tallies.Head[r.Condition].Add(truth, headOnly, r.Classes);
                }
                if (t.Calibrating.Contains(r) && r.Classes.Any(c => c.Id == truth.Id))
                {
                    tallies.Answers.Add((served[0].Score, served[0].Style.Id == truth.Id));
                    tallies.ParentAnswers.Add(ParentAnswer(served, truth));
                }
            }
            if (r.Condition.EndsWith(QuerySets.InStudio, StringComparison.Ordinal))
            {
                tallies.OutfitScores.Add(r.Outfit);
            }
            if (!scored)
            {
                continue;
            }
            var mallSizes = index.Malls;
            var eligibleMall = r.Photo.Mall.Length > 0 && mallSizes.TryGetValue(r.Photo.Mall, out var mall) && mall.ItemCount >= 3 ? r.Photo.Mall : null;
            for (var i = 0; i < strategies.Length; i++)
            {
                tallies.Strategy[r.Condition][i].Add(strategies[i].Recommend(index, r.Vector, served, r.Neighbors), eligibleMall, r.Photo.Row.Garments);
            }
        }
        return tallies;
    }

    /// <summary>The metrics per condition, and the calibration as fitted (with the "not an outfit" threshold and its false rates).</summary>
    private static ViewResult Result(
        IReadOnlyList<PhotoSample> samples, CrossValidationSettings settings, string[] sources,
        List<(string Name, string Source, string Set)> conditions, List<Record> records, Temperatures t, Tallies tallies, Stopwatch clock)
    {
        var outfitThreshold = OutfitThreshold(tallies.OutfitScores, settings.OutfitFalseRate);
        double FalseRate(string set) => NotAnOutfitRate(
            records.Where(r => r.Condition.EndsWith(set, StringComparison.Ordinal)).Select(r => (r.Outfit, r.Person)), outfitThreshold);
        return new ViewResult(
            settings.OnlyFold is { } scoredFold ? $"{settings.View.Name} (fold {scoredFold})" : settings.View.Name,
            settings.Folds,
            samples.Count,
            conditions.Select(c => new ConditionResult(c.Name, tallies.Style[c.Name].Metrics(), tallies.Strategy[c.Name].Select(s => s.Metrics()).ToArray(), tallies.Head[c.Name].Metrics())).ToArray(),
            clock.Elapsed.TotalSeconds)
        {
            Calibration = new CalibrationFit(
                t.AllHead, t.AllMix.T0, t.AllMix.Slope,
                TemperatureFitting.SureThreshold(tallies.Answers, settings.SurePrecision),
                TemperatureFitting.SureThreshold(tallies.ParentAnswers, settings.SurePrecision),
                outfitThreshold,
                settings.CalibrateOn is not null && sources.Contains(settings.CalibrateOn) ? settings.CalibrateOn : "all")
            {
                NotAnOutfitInStudio = FalseRate(QuerySets.InStudio),
                NotAnOutfitOtherBackground = FalseRate(QuerySets.OtherBackground),
            },
            HeldOut = settings.OnlyFold is { } only
                ? records.Where(r => r.Fold == only).Select(r => new HeldOutPrediction(
                    r.Source, r.Condition.EndsWith(QuerySets.InStudio, StringComparison.Ordinal) ? QuerySets.InStudio : QuerySets.OtherBackground,
                    r.Photo.Style?.Id, r.Classes.Select(c => c.Id).ToArray(), r.Head, r.Mixed, r.TopSimilarity, r.Outfit, r.Person)).ToArray()
                : null,
        };
    }

    /// <summary>
    /// The calibration (and the style numbers, as served with it) from predictions on held-out folds
    /// (<see cref="ViewResult.HeldOut"/> of several <c>eval --fold K</c> runs, each with the embedder trained without fold
    /// K): temperatures, "not sure" and "parent certain" thresholds and the outfit threshold fitted the way
    /// <see cref="Run"/> fits them, on predictions whose vectors no network was trained on. The conditions are named
    /// "&lt;source&gt; &lt;set&gt;".
    /// </summary>
    public static (CalibrationFit Fit, IReadOnlyList<ConditionResult> Conditions) FromHeldOut(
        IReadOnlyList<HeldOutPrediction> predictions, CrossValidationSettings settings)
    {
        if (predictions.Count == 0)
        {
            throw new InvalidDataException("No held-out predictions to calibrate on.");
        }
        var sources = predictions.Select(p => p.Source).Distinct(StringComparer.Ordinal).ToArray();
        var calibrateOn = settings.CalibrateOn is not null && sources.Contains(settings.CalibrateOn) ? settings.CalibrateOn : null;
        var classes = new Dictionary<string, Styles.FashionStyle[]>(StringComparer.Ordinal);
        Styles.FashionStyle[] ClassesOf(HeldOutPrediction p) =>
            classes.TryGetValue(string.Join(',', p.Classes), out var c) ? c
                : classes[string.Join(',', p.Classes)] = p.Classes.Select(Styles.StyleTaxonomy.Get).ToArray();
        var calibrating = predictions
            .Where(p => p.Set == QuerySets.InStudio && (calibrateOn is null || p.Source == calibrateOn) && p.Style is not null && p.Classes.Contains(p.Style))
            .ToArray();
        TemperatureFitting.Labelled[] Labelled(bool mix) => calibrating
            .Select(p => new TemperatureFitting.Labelled(mix ? p.Mixed : p.Head, Array.IndexOf(p.Classes, p.Style!), p.TopSimilarity))
            .ToArray();
        var headT = TemperatureFitting.FitTemperature(Labelled(mix: false));
        var mixT = MixTemperature(Labelled(mix: true), settings);
        StyleScore[] Served(HeldOutPrediction p) => Rank(Calibration.Apply(p.Mixed, Calibration.TemperatureAt(mixT.T0, mixT.Slope, p.TopSimilarity)), ClassesOf(p));
        var answers = new List<(double Confidence, bool Correct)>();
        var parentAnswers = new List<(double Confidence, bool Correct)>();
        foreach (var p in calibrating)
        {
            var served = Served(p);
            var truth = Styles.StyleTaxonomy.Get(p.Style!);
            answers.Add((served[0].Score, served[0].Style.Id == truth.Id));
            parentAnswers.Add(ParentAnswer(served, truth));
        }
        var outfitThreshold = OutfitThreshold(predictions.Where(p => p.Set == QuerySets.InStudio).Select(p => p.Outfit).ToList(), settings.OutfitFalseRate);
        double FalseRate(string set) => NotAnOutfitRate(predictions.Where(p => p.Set == set).Select(p => (p.Outfit, p.Person)), outfitThreshold);
        var fit = new CalibrationFit(
            headT, mixT.T0, mixT.Slope,
            TemperatureFitting.SureThreshold(answers, settings.SurePrecision),
            TemperatureFitting.SureThreshold(parentAnswers, settings.SurePrecision),
            outfitThreshold,
            calibrateOn ?? "all")
        {
            NotAnOutfitInStudio = FalseRate(QuerySets.InStudio),
            NotAnOutfitOtherBackground = FalseRate(QuerySets.OtherBackground),
        };
        var conditions = predictions.GroupBy(p => (p.Source, p.Set)).OrderBy(g => g.Key.Source, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Set == QuerySets.InStudio ? 0 : 1)
            .Select(g =>
            {
                var style = new StyleTally();
                var head = new StyleTally();
                foreach (var p in g.Where(p => p.Style is not null))
                {
                    var truth = Styles.StyleTaxonomy.Get(p.Style!);
                    style.Add(truth, Served(p), ClassesOf(p));
                    head.Add(truth, Rank(Calibration.Apply(p.Head, headT), ClassesOf(p)), ClassesOf(p));
                }
                return new ConditionResult($"{g.Key.Source} {g.Key.Set}", style.Metrics(), [], head.Metrics());
            })
            .ToArray();
        return (fit, conditions);
    }

    /// <summary>The outfit similarity below which the given share of real outfits falls.</summary>
    private static float OutfitThreshold(List<float> scores, double falseRate)
    {
        scores.Sort();
        return scores.Count == 0 ? 0f : scores[(int)Math.Floor(falseRate * (scores.Count - 1))];
    }

    /// <summary>Share of real outfits the rule calls "not an outfit" (a found person lowers the bar by the person margin).</summary>
    private static double NotAnOutfitRate(IEnumerable<(float Outfit, bool Person)> queries, float threshold)
    {
        var all = queries.ToArray();
        return all.Length == 0 ? 0 : all.Count(q => q.Outfit < (q.Person ? threshold - Recommending.OutfitRecommender.NotAnOutfitPersonMargin : threshold)) / (double)all.Length;
    }

    private static (double Confidence, bool Correct) ParentAnswer(StyleScore[] served, Styles.FashionStyle truth)
    {
        var parent = served.GroupBy(s => s.Style.Parent).Select(g => (Parent: g.Key, P: g.Sum(s => s.Score))).MaxBy(g => g.P);
        return (parent.P, parent.Parent == truth.Parent);
    }

    private static int IndexOf(IReadOnlyList<Styles.FashionStyle> classes, Styles.FashionStyle style)
    {
        for (var i = 0; i < classes.Count; i++)
        {
            if (classes[i].Id == style.Id)
            {
                return i;
            }
        }
        return -1;
    }

    private static float[] Ordered(IReadOnlyList<StyleScore> scores, IReadOnlyList<Styles.FashionStyle> classes) =>
        classes.Select(c => scores.FirstOrDefault(s => s.Style.Id == c.Id)?.Score ?? 0f).ToArray();

    private static StyleScore[] Rank(float[] probabilities, IReadOnlyList<Styles.FashionStyle> classes) =>
        classes.Select((c, i) => new StyleScore(c, probabilities[i])).OrderByDescending(s => s.Score).ToArray();

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
    public static OnnxStyleHead TrainHead(IReadOnlyList<PhotoSample> train, EmbeddingSettings view, StyleHeadOptions options, HeadServing? serving = null)
    {
        var examples = Examples(train, view);
        var trained = StyleHeadTrainer.Train(examples, options);
        serving ??= new HeadServing();
        serving = serving with
        {
            Examples = trained.Head.Classes.Select(c => trained.Counts[c.Id]).ToArray(),
            Prototypes = OutfitPrototypes(examples, trained.Head.Classes),
        };
        return OnnxStyleHead.Load(StyleHeadOnnx.ToOnnx(trained.Head, view.Name, serving));
    }

    /// <summary>The unit-length mean embedding of each of the head's classes: what "looks like an outfit" is measured against.</summary>
    public static IReadOnlyList<float[]> OutfitPrototypes(IReadOnlyList<StyleExample> examples, IReadOnlyList<Styles.FashionStyle> classes)
    {
        var classIndex = classes.Select((c, i) => (c.Id, i)).ToDictionary(x => x.Id, x => x.i);
        return StyleHeadTrainer.Prototypes(examples.Where(e => classIndex.ContainsKey(e.Style.Id)).ToArray(), classes, classIndex);
    }

    /// <summary>
    /// Training examples: the in-studio vector of every labelled photo, with its augmentation — the view without
    /// mirror averaging (when the view averages). Other-background vectors stay evaluation queries, so that
    /// cross-validation trains exactly what <c>style train</c> does.
    /// </summary>
    public static IReadOnlyList<StyleExample> Examples(IReadOnlyList<PhotoSample> samples, EmbeddingSettings view) =>
        samples.Where(s => s.Photo.Style is not null)
            .Select(s => new StyleExample(s.InStudio.Vector(view), s.Photo.Style!, s.Photo.Substyle, Augmentations(s, view)))
            .ToArray();

    private static float[][] Augmentations(PhotoSample sample, EmbeddingSettings view) =>
        view.FlipAverage ? [sample.InStudio.Vector(view with { FlipAverage = false })] : [];

    /// <summary>An in-memory index of the samples' in-studio vectors, as <c>index build</c> would store them.</summary>
    public static CatalogIndex BuildIndex(IReadOnlyList<PhotoSample> samples, EmbeddingSettings view)
    {
        var items = samples.Select(s => (s.Photo.Row.ToItem() with { Id = s.Photo.Index + 1 }, s.InStudio.Vector(view))).ToArray();
        return CatalogIndex.InMemory(items, view.Dimensions);
    }
}
