using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Evaluation;
using Otchatsa.Features;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Spectre.Console;
using Spectre.Console.Cli;

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
        [Description("Labelled manifest: image, style[, substyle, product, mall].")]
        public string Data { get; init; } = "";

        [CommandOption("--out <ONNX>")]
        [Description("Where to write the head, e.g. models/style_head.onnx; the model card goes beside it (.card.json).")]
        public string Out { get; init; } = "";

        [CommandOption("--view <VIEW>")]
        [Description("Embedding view the head is for (default: the product's default view); it is only served with that view.")]
        public string? View { get; init; }

        [CommandOption("--min-examples <N>")]
        [Description("A style becomes a class with at least this many examples (default 40).")]
        public int MinExamples { get; init; } = new StyleHeadOptions().MinExamples;

        [CommandOption("--l2 <VALUE>")]
        public float L2 { get; init; } = new StyleHeadOptions().L2;

        [CommandOption("--substyle-weight <VALUE>")]
        [Description("Weight of sub-style labels as extra examples (0 = ignore).")]
        public float SubstyleWeight { get; init; } = new StyleHeadOptions().SubstyleWeight;

        [CommandOption("--folds <N>")]
        [Description("Product-disjoint cross-validation folds for the model card's metrics (0 = skip).")]
        public int Folds { get; init; } = 5;

        [CommandOption("--cache <DIR>")]
        public string? Cache { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Data) || string.IsNullOrWhiteSpace(Out)
                ? ValidationResult.Error("--data and --out are required.")
                : Folds == 1 ? ValidationResult.Error("--folds must be 0 or at least 2.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var view = settings.View is null ? EmbeddingSettings.Default : EmbedCommand.ParseView(settings.View);
        var options = new StyleHeadOptions { MinExamples = settings.MinExamples, L2 = settings.L2, SubstyleWeight = settings.SubstyleWeight };
        using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models), view);
        var extractor = FeatureExtractor.Create(engine, settings.Cache);
        var photos = LabelledPhotos.Read(EmbedCommand.RequireFile(settings.Data));
        var samples = EmbedCommand.WithProgress($"embedding {photos.Count} photos", p =>
            LabelledPhotos.Extract(extractor, photos, [view], otherBackgrounds: false, p, cancellationToken));
        var console = CliRunner.Human;

        CardMetrics? metrics = null;
        if (settings.Folds >= 2)
        {
            var cv = CrossValidation.Run(samples, new CrossValidationSettings
            {
                View = view, Folds = settings.Folds, Head = options, Strategies = [], OtherBackgrounds = false,
            }, cancellationToken).Conditions[0].Style;
            metrics = new CardMetrics(settings.Folds, "product-disjoint (grouped by the product column)", cv.Top1, cv.Top3, cv.MacroF1,
                cv.PerClass.Select(c => new CardClassMetrics(c.Id, c.Precision, c.Recall, c.F1, c.Support)).ToArray());
            console.MarkupLineInterpolated($"Cross-validated ({settings.Folds} folds, product-disjoint): top-1 {cv.Top1:F3}, top-3 {cv.Top3:F3}, macro-F1 {cv.MacroF1:F3}");
        }

        var examples = CrossValidation.Examples(samples, view);
        var trained = StyleHeadTrainer.Train(examples, options);
        var onnx = StyleHeadOnnx.ToOnnx(trained.Head, view.Name);
        var maxDifference = OnnxAgreement(trained, onnx, examples);
        var outPath = Path.GetFullPath(settings.Out);
        Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
        File.WriteAllBytes(outPath, onnx);
        var card = new StyleHeadCard
        {
            Classes = trained.Head.Classes.Select(c => new CardClass(c.Id, c.NameKo, c.NameEn, trained.Counts[c.Id], trained.SubstyleCounts[c.Id])).ToArray(),
            EmbeddingView = view.Name,
            Dims = view.Dimensions,
            Models = IndexBuilder.ExpectedManifest(engine).Models,
            Data = new CardData(Path.GetFileName(settings.Data), IndexManifest.Sha256OfFile(settings.Data), photos.Count, examples.Count),
            Trainer = new CardTrainer("ML.NET LbfgsMaximumEntropy on standardised embeddings (folded into the ONNX weights)",
                options.L2, options.SubstyleWeight, options.BalanceClasses, options.MinExamples),
            CrossValidation = metrics,
            TrainedUtc = DateTimeOffset.UtcNow,
        };
        card.Save(StyleHeadCard.PathFor(outPath));
        console.MarkupLineInterpolated(
            $"[green]Style head[/] {outPath}: {string.Join(", ", card.Classes.Select(c => $"{c.Id} ({c.Examples})"))}; view {view.Name}; ONNX vs ML.NET max |Δp| {maxDifference:E1}.");
        return 0;
    }

    /// <summary>The largest probability difference between ML.NET and ONNX Runtime on the training examples.</summary>
    private static double OnnxAgreement(TrainedStyleHead trained, byte[] onnx, IReadOnlyList<StyleExample> examples)
    {
        using var head = Recommending.OnnxStyleHead.Load(onnx);
        var vectors = examples.Select(e => e.Embedding).ToArray();
        var expected = trained.PredictWithMlNet(vectors);
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
            throw new InvalidOperationException($"The ONNX export disagrees with ML.NET (max |Δp| = {max:E2}).");
        }
        return max;
    }
}
