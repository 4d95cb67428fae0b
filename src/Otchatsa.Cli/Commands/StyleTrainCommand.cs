using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Embeddings;
using Otchatsa.Evaluation;
using Otchatsa.Pipeline;
using Otchatsa.Styles;
using Otchatsa.Training;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa style train</c>: trains the style head on a labelled manifest, writes it as ONNX with a model card, and
/// states its product-disjoint cross-validated quality in the card.
/// </summary>
internal sealed class StyleTrainCommand : Command<StyleTrainCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--data <CSV>")]
        [Description("Labelled manifest: image, style[[, substyle, product, mall]]; repeat it to train on several manifests together.")]
        public string[] Data { get; init; } = [];

        [CommandOption("--out <ONNX>")]
        [Description("Where to write the head, e.g. models/style_head.onnx; the model card goes beside it (.card.json).")]
        public string Out { get; init; } = "";

        [CommandOption("--view <VIEW>")]
        [Description("Embedding view the head is for (default: the product's default view); it is only served with that view.")]
        public string? View { get; init; }

        [CommandOption("--min-examples <N>")]
        [Description("A style becomes a class with at least this many main-style examples (default 5).")]
        public int? MinExamples { get; init; }

        [CommandOption("--l2 <VALUE>")]
        public float? L2 { get; init; }

        [CommandOption("--substyle-weight <VALUE>")]
        [Description("Share of the target given to the sub-style label (0 = ignore).")]
        public float? SubstyleWeight { get; init; }

        [CommandOption("--head <SETTINGS>")]
        [Description("Other head options, e.g. PrototypeWeight=10,ParentWeight=0.5,Algorithm=MlNet (names as in StyleHeadOptions).")]
        public string? Head { get; init; }

        [CommandOption("--folds <N>")]
        [Description("Product-disjoint cross-validation folds for calibration and the model card's metrics (default 5).")]
        public int Folds { get; init; } = 5;

        [CommandOption("--calibrate-with <FILE>")]
        [Description("Held-out predictions (`eval --fold K --held-out FILE`, one per fold, each with an embedder trained without that fold) to fit the calibration on instead of this run's folds: for an embedder trained on these same photos, whose own vectors are too familiar to calibrate on. Repeatable.")]
        public string[] CalibrateWith { get; init; } = [];

        [CommandOption("--cache <DIR>")]
        public string? Cache { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        [CommandOption("--embedder-model <ONNX>")]
        [Description(SharedSettings.EmbedderModelHelp)]
        public string? EmbedderModel { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--data", SharedSettings.Given(Data)), ("--out", SharedSettings.Given(Out)))
                .ErrorIf(Folds < 2, "--folds must be at least 2 (calibration is fitted on the folds).");
    }

    /// <summary>The default recipe with <c>Name=value,…</c> overrides.</summary>
    internal static StyleHeadOptions ParseHead(string? text) => EvalCommand.ParseOptions(new StyleHeadOptions(), text, "head");

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var view = settings.View is null ? EmbeddingSettings.Default : EmbedCommand.ParseView(settings.View);
        var options = ParseHead(settings.Head);
        options = options with
        {
            MinExamples = settings.MinExamples ?? options.MinExamples,
            L2 = settings.L2 ?? options.L2,
            SubstyleWeight = settings.SubstyleWeight ?? options.SubstyleWeight,
        };
        using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models, embedderModel: settings.EmbedderModel), view);
        var extractor = FeatureExtractor.Create(engine, settings.Cache);
        var manifests = settings.Data.Select(EmbedCommand.RequireFile).ToArray();
        var photos = LabelledPhotos.ReadAll(manifests);
        // Augmentation uses the view without mirror averaging (cached with the view); other-background vectors are
        // used only when extracted, which training does not do (they are evaluation queries).
        var samples = EmbedCommand.WithProgress($"embedding {photos.Count} photos", p =>
            LabelledPhotos.ExtractAll(extractor, manifests, [view], otherBackgrounds: false, p, cancellationToken));
        var console = CliRunner.Human;

        CalibrationFit fit;
        CardMetrics[] bySource;
        if (settings.CalibrateWith.Length == 0)
        {
            var cv = CrossValidation.Run(samples, new CrossValidationSettings
            {
                View = view, Folds = settings.Folds, Head = options, Strategies = [], OtherBackgrounds = false,
            }, cancellationToken);
            fit = cv.Calibration!;
            bySource = cv.Conditions.Select(c => CardMetrics.From(c.Queries, settings.Folds, c.Style)).ToArray();
        }
        else
        {
            // An embedder trained on these photos knows them too well to calibrate on their vectors: fit the calibration
            // on (and report) what embedders trained without them predicted, fold by fold.
            var heldOut = settings.CalibrateWith.Select(EmbedCommand.RequireFile)
                .SelectMany(f => ModelCardFile.Load<HeldOutPrediction[]>(f, "held-out predictions of `eval --held-out`"))
                .ToArray();
            (fit, var conditions) = CrossValidation.FromHeldOut(heldOut, new CrossValidationSettings { View = view });
            bySource = conditions.Where(c => c.Queries.EndsWith(QuerySets.InStudio, StringComparison.Ordinal))
                .Select(c => CardMetrics.From($"{c.Queries} (held out by {settings.CalibrateWith.Length} fold-trained embedders)", settings.CalibrateWith.Length, c.Style))
                .ToArray();
            console.MarkupLineInterpolated(
                $"Calibration from {heldOut.Length} held-out predictions in {settings.CalibrateWith.Length} files (not from this run's own vectors).");
        }
        foreach (var m in bySource)
        {
            console.MarkupLineInterpolated(
                $"Cross-validated {m.Queries} ({settings.Folds} folds, product-disjoint, as served): top-1 {m.Top1:F3}, top-3 {m.Top3:F3}, macro-F1 {m.MacroF1:F3}, ECE {m.Ece:F3}, {m.StylesNamed} styles named");
        }
        console.MarkupLineInterpolated(
            $"Calibration ({fit.FittedOn}): head T {fit.HeadTemperature:F2}, mixed T {fit.MixTemperature:F2} (slope {fit.MixTemperatureSlope:F0}); not sure below {fit.UnsureBelow:F2}, parent certain from {fit.ParentSureAbove:F2}; outfit similarity ≥ {fit.OutfitThreshold:F3}");

        var examples = CrossValidation.Examples(samples, view);
        var trained = StyleHeadTrainer.Train(examples, options with { Temperature = fit.HeadTemperature });
        var serving = new HeadServing
        {
            Examples = trained.Head.Classes.Select(c => trained.Counts[c.Id]).ToArray(),
            MixTemperature = fit.MixTemperature,
            MixTemperatureSlope = fit.MixTemperatureSlope,
            UnsureBelow = fit.UnsureBelow,
            ParentSureAbove = fit.ParentSureAbove,
            Prototypes = CrossValidation.OutfitPrototypes(examples, trained.Head.Classes),
            OutfitThreshold = fit.OutfitThreshold,
        };
        var onnx = StyleHeadOnnx.ToOnnx(trained.Head, view.Name, serving);
        var maxDifference = OnnxAgreement(trained, onnx, examples);
        var outPath = Path.GetFullPath(settings.Out);
        Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
        File.WriteAllBytes(outPath, onnx);
        var card = new StyleHeadCard
        {
            Classes = trained.Head.Classes.Select(c => new CardClass(c.Id, c.NameKo, c.NameEn, trained.Counts[c.Id], trained.SubstyleCounts[c.Id])).ToArray(),
            EmbeddingView = view.Name,
            Dims = view.Dimensions,
            Models = IndexManifest.Expected(engine).Models,
            Data = new CardData(
                string.Join(" + ", manifests.Select(m => $"{LabelledPhotos.SourceName(m)}/{Path.GetFileName(m)}")),
                string.Join(" ", manifests.Select(IndexManifest.Sha256OfFile)),
                photos.Count,
                examples.Count),
            Trainer = new CardTrainer(
                options.Algorithm == StyleHeadAlgorithm.MlNet
                    ? "ML.NET LbfgsMaximumEntropy on standardised embeddings (folded into the ONNX weights)"
                    : SoftmaxDescription(options),
                options.L2, options.SubstyleWeight, options.BalanceClasses, options.MinExamples)
            {
                Options = options,
            },
            CrossValidation = bySource.FirstOrDefault(m => m.Queries.StartsWith(fit.FittedOn, StringComparison.Ordinal)) ?? bySource[0],
            CrossValidationBySource = bySource,
            Calibration = fit,
            TrainedUtc = DateTimeOffset.UtcNow,
        };
        card.Save(StyleHeadCard.PathFor(outPath));
        console.MarkupLineInterpolated(
            $"[green]Style head[/] {outPath}: {card.Classes.Count} styles ({string.Join(", ", card.Classes.Select(c => $"{c.Id} {c.Examples}"))}); view {view.Name}; ONNX vs trainer max |Δp| {maxDifference:E1}.");
        return 0;
    }

    private static string SoftmaxDescription(StyleHeadOptions o)
    {
        var parts = new List<string> { "softmax regression (L-BFGS) on standardised embeddings" };
        if (o.SubstyleWeight > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"sub-style as a {o.SubstyleWeight:0.##} soft target"));
        }
        if (o.AugmentWeight > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"unmirrored view as {o.AugmentWeight:0.##}-weighted extra examples"));
        }
        if (o.ParentWeight > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"parent term {o.ParentWeight:0.##}"));
        }
        if (o.PrototypeWeight > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"nearest-class-mean logits ×{o.PrototypeWeight:0.##}"));
        }
        return string.Join(", ", parts) + "; calibrated by a temperature fitted on the folds (all folded into the ONNX weights)";
    }

    /// <summary>The largest probability difference between ML.NET and ONNX Runtime on the training examples.</summary>
    private static double OnnxAgreement(TrainedStyleHead trained, byte[] onnx, IReadOnlyList<StyleExample> examples)
    {
        using var head = Styles.OnnxStyleHead.Load(onnx);
        var vectors = examples.Select(e => e.Embedding).ToArray();
        var expected = trained.ReferenceProbabilities(vectors);
        var actual = head.Probabilities(vectors);
        var max = 0.0;
        for (var i = 0; i < vectors.Length; i++)
        {
            for (var k = 0; k < expected[i].Length; k++)
            {
                max = Math.Max(max, Math.Abs(expected[i][k] - actual[i][k]));
            }
        }
        if (max > 1e-3)
        {
            throw new InvalidOperationException($"The ONNX export disagrees with the trainer (max |Δp| = {max:E2}).");
        }
        return max;
    }
}
