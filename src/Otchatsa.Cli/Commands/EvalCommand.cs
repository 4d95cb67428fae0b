using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Otchatsa.Catalog;
using Otchatsa.Embeddings;
using Otchatsa.Evaluation;
using Otchatsa.Hosting;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Training;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa eval</c>: style, mall, item, crop and latency numbers, either for a built index and a query manifest, or
/// by product-disjoint cross-validation on one manifest (<c>--folds</c>).
/// </summary>
internal sealed class EvalCommand : Command<EvalCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")]
        [Description("Built index to evaluate against (not with --folds).")]
        public string? Index { get; init; }

        [CommandOption("--queries <CSV>")]
        [Description("Labelled query manifest (with --folds: the whole data set; repeat it to cross-validate on several manifests together, reported per manifest).")]
        public string[] Queries { get; init; } = [];

        [CommandOption("--folds <N>")]
        [Description("Product-disjoint cross-validation with N folds on --queries (head and index rebuilt per fold).")]
        public int? Folds { get; init; }

        [CommandOption("--strategy <NAME>")]
        [Description("Strategy to evaluate (default: blend); seed is always measured beside it.")]
        public string? Strategy { get; init; }

        [CommandOption("--views <LIST>")]
        [Description("With --folds: comma-separated embedding views to compare (default: the product's default view).")]
        public string? Views { get; init; }

        [CommandOption("--fold <K>")]
        [Description("With --folds: score only fold K (0-based), e.g. for an embedder trained on the other folds (other-background queries are made for that fold only).")]
        public int? Fold { get; init; }

        [CommandOption("--held-out <FILE>")]
        [Description("With --fold: write the scored fold's predictions (JSON) for `style train --calibrate-with` (an embedder trained without that fold).")]
        public string? HeldOut { get; init; }

        [CommandOption("--in-studio-only")]
        [Description("Skip the other-background queries (the person pasted onto another photo's background).")]
        public bool InStudioOnly { get; init; }

        [CommandOption("--background-every <N>")]
        [Description(SharedSettings.BackgroundEveryHelp)]
        public int BackgroundEvery { get; init; } = 1;

        [CommandOption("--latency <N>")]
        [Description("Photos to run through the full pipeline for latency percentiles (default 30; 0 = skip).")]
        public int Latency { get; init; } = 30;

        [CommandOption("--report <FILE>")]
        [Description("Markdown report to write (default eval-report.md); the confusion heatmap goes beside it as .png.")]
        public string Report { get; init; } = "eval-report.md";

        [CommandOption("--json")]
        [Description("Print the whole report as one JSON object on stdout.")]
        public bool Json { get; init; }

        [CommandOption("--blend <SETTINGS>")]
        [Description("Override blend options, e.g. StyleWeight=0.3,AffinityDepth=5 (for tuning).")]
        public string? Blend { get; init; }

        [CommandOption("--head <SETTINGS>")]
        [Description("Override style head options, e.g. PrototypeWeight=10,ParentWeight=0.5 (for tuning; names as in StyleHeadOptions).")]
        public string? Head { get; init; }

        [CommandOption("--l2 <VALUE>")]
        public float? L2 { get; init; }

        [CommandOption("--neighbour-weight <VALUE>")]
        [Description("Share of the labelled-neighbour vote in the style (tuning).")]
        public float NeighbourWeight { get; init; } = NeighbourMixedStyleClassifier.NeighbourWeight;

        [CommandOption("--vote-prior <VALUE>")]
        [Description("Divide the neighbour vote by the style's catalog count to this power (tuning).")]
        public float VotePrior { get; init; } = NeighbourMixedStyleClassifier.VotePriorPower;

        [CommandOption("--calibrate-on <SOURCE>")]
        [Description("Manifest folder whose out-of-fold predictions fit the temperatures and thresholds (default kfashion23; 'all').")]
        public string CalibrateOn { get; init; } = "kfashion23";

        [CommandOption("--calibrate-slope")]
        [Description("Let the mixed style's temperature depend on the closest labelled photo's similarity (tried; not the default).")]
        public bool CalibrateSlope { get; init; }

        [CommandOption("--evidence <VALUE>")]
        [Description("Head as this many pseudo-votes against similarity-weighted neighbour votes (tuning; 0 = fixed share).")]
        public float Evidence { get; init; } = NeighbourMixedStyleClassifier.EvidenceStrength;

        [CommandOption("--substyle-weight <VALUE>")]
        public float? SubstyleWeight { get; init; }

        [CommandOption("--sqrt <BOOL>")]
        public bool? SquareRoot { get; init; }

        [CommandOption("--seed <N>")]
        public int Seed { get; init; } = 1;

        [CommandOption("--cache <DIR>")]
        [Description(SharedSettings.CacheHelp)]
        public string? Cache { get; init; }

        [CommandOption("--embedder-model <ONNX>")]
        [Description(SharedSettings.EmbedderModelHelp)]
        public string? EmbedderModel { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--queries", SharedSettings.Given(Queries)))
                .ErrorIf(Folds is null == string.IsNullOrWhiteSpace(Index), "Give either --index <dir> or --folds <n>.")
                .ErrorIf(Folds is null && Queries.Length > 1, "Several --queries manifests need --folds.")
                .ErrorIf(Fold is { } k && (Folds is null || k < 0 || k >= Folds), "--fold needs --folds <n> and a value from 0 to n-1.")
                .ErrorIf(HeldOut is not null && Fold is null, "--held-out needs --fold <K>.")
                .ErrorIf(Folds is < 2, SharedSettings.FoldsAtLeastTwo);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var strategy = settings.Strategy ?? Strategies.Default;
        var strategies = new[] { strategy, "seed" }.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        var blend = ParseBlend(settings.Blend);
        var photos = LabelledPhotos.ReadAll(settings.Queries.Select(EmbedCommand.RequireFile).ToArray());
        if (photos.Count == 0)
        {
            throw new CliException($"'{string.Join("', '", settings.Queries)}' has no usable photos.");
        }
        var otherBackgrounds = !settings.InStudioOnly;
        EvalReport report;
        if (settings.Folds is { } folds)
        {
            var views = EmbedCommand.ParseViews(settings.Views);
            using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models, embedderModel: settings.EmbedderModel), views[0]);
            var extractor = FeatureExtractor.Create(engine, settings.Cache);
            var assignment = CrossValidation.ProductFolds(photos, folds, settings.Seed);
            Func<LabelledPhoto, bool>? scored = settings.Fold is { } only ? p => assignment[p.Index] == only : null;
            var samples = EmbedCommand.WithProgress($"features of {photos.Count} photos", p =>
                LabelledPhotos.ExtractAll(extractor, settings.Queries, views, otherBackgrounds, p, cancellationToken, settings.BackgroundEvery, scored));
            var head = StyleTrainCommand.ParseHead(settings.Head) with { Seed = settings.Seed };
            head = head with
            {
                L2 = settings.L2 ?? head.L2,
                SubstyleWeight = settings.SubstyleWeight ?? head.SubstyleWeight,
                SquareRoot = settings.SquareRoot ?? head.SquareRoot,
            };
            var results = views.Select(view => CrossValidation.Run(samples, new CrossValidationSettings
            {
                View = view, Folds = folds, Seed = settings.Seed, Head = head, Blend = blend, Strategies = strategies,
                OtherBackgrounds = otherBackgrounds, OnlyFold = settings.Fold, NeighbourWeight = settings.NeighbourWeight, VotePriorPower = settings.VotePrior, EvidenceStrength = settings.Evidence,
                CalibrateOn = settings.CalibrateOn == "all" ? null : settings.CalibrateOn, CalibrateSlope = settings.CalibrateSlope,
            }, cancellationToken)).ToArray();
            if (settings.HeldOut is { } heldOut)
            {
                ModelCardFile.Save(results[0].HeldOut!, Path.GetFullPath(heldOut));
            }
            LatencyMetrics? latency = null;
            if (settings.Latency > 0)
            {
                // Fold 0's head and index, queried with fold 0's photos: the same separation as the quality numbers.
                // Fold 0's (or the scored fold's) head and index, queried with that fold's photos.
                var latencyFold = settings.Fold ?? 0;
                var train = samples.Where(s => assignment[s.Photo.Index] != latencyFold).ToArray();
                using var foldHead = CrossValidation.TrainHead(train, views[0], head);
                using var index = CrossValidation.BuildIndex(train, views[0]);
                var recommender = new OutfitRecommender(engine, index, foldHead);
                latency = Probes.Latency(recommender, CrossValidation.CreateStrategy(strategy, blend),
                    photos.Where(p => assignment[p.Index] == latencyFold).Take(settings.Latency).Select(p => p.Path).ToArray());
            }
            report = new EvalReport(CommandLine(), $"{folds}-fold product-disjoint cross-validation", string.Join(" + ", settings.Queries), photos.Count,
                strategy, results, Probes.Coverage(samples), latency, clock.Elapsed.TotalSeconds);
        }
        else
        {
            using var runtime = OtchatsaRuntime.Open(settings.Index!, settings.Models, embedderModel: settings.EmbedderModel);
            var view = runtime.Engine.Settings;
            var extractor = FeatureExtractor.Create(runtime.Engine, settings.Cache);
            var samples = EmbedCommand.WithProgress($"features of {photos.Count} photos", p =>
                LabelledPhotos.Extract(extractor, photos, [view], otherBackgrounds, p, cancellationToken, settings.BackgroundEvery));
            WarnAboutOverlap(runtime.Index, photos);
            var created = strategies.Select(s => CrossValidation.CreateStrategy(s, blend)).ToArray();
            var conditions = new List<ConditionResult>();
            foreach (var condition in otherBackgrounds ? new[] { QuerySets.InStudio, QuerySets.OtherBackground } : [QuerySets.InStudio])
            {
                var styleTally = new StyleTally();
                var tallies = strategies.Select(s => new StrategyTally(s)).ToArray();
                var queries = CrossValidation.QueriesOf(samples, condition, view);
                CrossValidation.Score(queries, runtime.Recommender.Classifier, runtime.Index, created, blend.Candidates, styleTally, tallies);
                conditions.Add(new ConditionResult(condition, styleTally.Metrics(), tallies.Select(t => t.Metrics()).ToArray()));
            }
            var latency = settings.Latency > 0
                ? Probes.Latency(runtime.Recommender, created[0], photos.Take(settings.Latency).Select(p => p.Path).ToArray())
                : null;
            report = new EvalReport(CommandLine(), $"index {settings.Index} (classifier: {runtime.Recommender.Classifier.Name})", settings.Queries[0],
                photos.Count, strategy, [new ViewResult(view.Name, 0, photos.Count, conditions, clock.Elapsed.TotalSeconds)],
                Probes.Coverage(samples), latency, clock.Elapsed.TotalSeconds);
        }
        report = report with { Seconds = clock.Elapsed.TotalSeconds };
        Write(report, settings);
        return 0;
    }

    private static void Write(EvalReport report, Settings settings)
    {
        var reportPath = Path.GetFullPath(settings.Report);
        Directory.CreateDirectory(Path.GetDirectoryName(reportPath)!);
        var heatmap = Path.ChangeExtension(reportPath, ".confusion.png");
        var primary = report.Views[0].Conditions[0].Style;
        if (primary.Classes.Count > 0)
        {
            File.WriteAllBytes(heatmap, EvalReport.ConfusionPng(primary, $"{report.Views[0].View}, {report.Views[0].Conditions[0].Queries}"));
        }
        // Per condition with many styles (the 23-style sample): its own confusion heatmap and reliability diagram.
        var figures = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var c in report.Views[0].Conditions.Where(c => c.Style.PerClass.Count(k => k.Support > 0) >= 10))
        {
            var slug = string.Concat(c.Queries.Select(ch => char.IsLetterOrDigit(ch) ? ch : '-'));
            var confusion = Path.ChangeExtension(reportPath, $".{slug}.confusion.png");
            var reliability = Path.ChangeExtension(reportPath, $".{slug}.reliability.png");
            File.WriteAllBytes(confusion, EvalReport.ConfusionPng(c.Style, $"{report.Views[0].View}, {c.Queries}"));
            File.WriteAllBytes(reliability, EvalReport.ReliabilityPng(c.Style, $"{report.Views[0].View}, {c.Queries}, as served"));
            figures[c.Queries] = [Path.GetFileName(confusion), Path.GetFileName(reliability)];
        }
        File.WriteAllText(reportPath, report.ToMarkdown(primary.Classes.Count > 0 ? Path.GetFileName(heatmap) : null, figures));
        if (settings.Json)
        {
            Console.Out.WriteLine(report.ToJson());
        }
        var console = CliRunner.Human;
        var table = new Table().AddColumns("view", "queries", "top-1", "top-3", "macro-F1", "ECE", "named");
        var names = report.Views[0].Conditions[0].Strategies.Select(s => s.Strategy).ToArray();
        foreach (var s in names)
        {
            table.AddColumn($"mall R@3 {s}");
        }
        foreach (var s in names)
        {
            table.AddColumn($"items {s}");
        }
        foreach (var view in report.Views)
        {
            foreach (var c in view.Conditions)
            {
                table.AddRow([view.View, c.Queries, F(c.Style.Top1), F(c.Style.Top3), F(c.Style.MacroF1), F(c.Style.Ece), $"{c.Style.ClassesNamed}",
                    .. c.Strategies.Select(s => F(s.MallRecallAt3)), .. c.Strategies.Select(s => F(s.GarmentPrecision))]);
                if (c.HeadOnly is { } h)
                {
                    table.AddRow([view.View, c.Queries + " (head only)", F(h.Top1), F(h.Top3), F(h.MacroF1), F(h.Ece), $"{h.ClassesNamed}",
                        .. c.Strategies.Select(_ => ""), .. c.Strategies.Select(_ => "")]);
                }
            }
        }
        console.Write(table);
        foreach (var view in report.Views.Where(v => v.Calibration is not null))
        {
            var fit = view.Calibration!;
            console.MarkupLineInterpolated(
                $"Calibration of {view.View} ({fit.FittedOn}): head T {fit.HeadTemperature:F2}, mixed T {fit.MixTemperature:F2} (slope {fit.MixTemperatureSlope:F0}); not sure below {fit.UnsureBelow:F2}; parent certain from {fit.ParentSureAbove:F2}; outfit similarity ≥ {fit.OutfitThreshold:F3}");
        }
        console.MarkupLineInterpolated($"Report: {reportPath} ({report.Seconds:F0} s)");
    }

    private static string F(double value) => value.ToString("F3", CultureInfo.InvariantCulture);

    private static void WarnAboutOverlap(ICatalogView index, IReadOnlyList<LabelledPhoto> photos)
    {
        var products = index.Items.Where(i => i.Product is not null).Select(i => i.Product!).ToHashSet(StringComparer.Ordinal);
        var overlap = photos.Count(p => p.Row.Product is not null && products.Contains(p.Row.Product));
        if (overlap > 0)
        {
            CliRunner.Human.MarkupLineInterpolated(
                $"[yellow]warning:[/] {overlap} queries share a product with the index; their numbers are optimistic (use --folds for product-disjoint numbers).");
        }
    }

    private static string CommandLine() => "otchatsa " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1));

    /// <summary>Parses <c>Name=value,…</c> into <see cref="BlendOptions"/> (property names as in the class).</summary>
    internal static BlendOptions ParseBlend(string? text) => ParseOptions(new BlendOptions(), text, "blend");

    /// <summary>Sets <c>Name=value,…</c> on a fresh options object (property names as in its class; enums by name).</summary>
    internal static T ParseOptions<T>(T options, string? text, string what) where T : class
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return options;
        }
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
            var property = typeof(T).GetProperty(parts[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (parts.Length != 2 || property is null || !property.CanWrite)
            {
                throw new CliException($"Unknown {what} option '{pair}'. Options: {string.Join(", ", typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name))}.");
            }
            try
            {
                // The options object is private to this run, so setting its init-only properties by reflection is safe.
                property.SetValue(options, property.PropertyType.IsEnum
                    ? Enum.Parse(property.PropertyType, parts[1], ignoreCase: true)
                    : Convert.ChangeType(parts[1], property.PropertyType, CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidCastException or OverflowException)
            {
                throw new CliException($"Bad value in {what} option '{pair}'.");
            }
        }
        return options;
    }
}
