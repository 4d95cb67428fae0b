using System.ComponentModel;
using Microsoft.ML.OnnxRuntime;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa models quantize</c>: calibrates the int8 ResNet18 on catalog photos and writes its model card (the
/// committed file the product rebuilds the int8 model from) and the model itself, then says whether ONNX Runtime
/// runs it as QLinearConv.
/// </summary>
internal sealed class ModelsQuantizeCommand : Command<ModelsQuantizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--calibration <CSV>")]
        [Description("Catalog manifest whose photos are drawn for calibration and the held-out check.")]
        public string Calibration { get; init; } = "";

        [CommandOption("--photos <N>")]
        [Description("Calibration photos (whole products drawn with the seed); four views each. Default 64.")]
        public int Photos { get; init; } = 64;

        [CommandOption("--check <N>")]
        [Description("Held-out photos (other products) for cosine(int8, fp32). Default 200.")]
        public int Check { get; init; } = 200;

        [CommandOption("--seed <N>")]
        public int Seed { get; init; } = 13;

        [CommandOption("--out <DIR>")]
        [Description("Where the card (resnet18_int8.card.json) and resnet18_int8.onnx go. Default models.")]
        public string Out { get; init; } = "models";

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        [CommandOption("--embedder-model <NAME>")]
        [Description("The network to quantize: 'imagenet' (the package's ResNet18, the default) or 'fashion' (package + our delta).")]
        public string? EmbedderModel { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--calibration", Calibration))
                .ErrorIf(Photos < 1 || Check < 0, "--photos must be at least 1 and --check not negative.");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.Calibration))
        {
            throw new CliException($"Calibration manifest '{settings.Calibration}' does not exist.");
        }
        var console = CliRunner.Human;
        var models = ModelPaths.Locate(settings.Models, EmbedderPrecision.Fp32, settings.EmbedderModel ?? ModelPaths.ImageNetModel);
        if (models.EmbedderId == ModelPaths.FineTunedId)
        {
            throw new CliException("models quantize makes the int8 copy of the package's network ('imagenet') or of our fashion embedder ('fashion'), not of a network exported in full.");
        }
        using var engine = new OutfitEngine(models);
        var result = Int8Calibrator.Run(engine, settings.Calibration, settings.Photos, settings.Check, settings.Seed,
            line => console.MarkupLineInterpolated($"[grey]{line}[/]"));
        Directory.CreateDirectory(settings.Out);
        var cardPath = Path.Combine(settings.Out, Int8ModelCard.FileName);
        var onnxPath = Path.Combine(settings.Out, "resnet18_int8.onnx");
        File.WriteAllBytes(onnxPath, result.Model);
        result.Card.Save(cardPath);

        var fused = FusedOps(result.Model);
        var check = result.Card.Check!;
        var output = AnsiConsole.Console;
        output.MarkupLineInterpolated($"wrote {cardPath} and {onnxPath} ({result.Model.Length / 1e6:F1} MB, sha256 {result.Card.ModelSha256[..12]}…)");
        output.MarkupLineInterpolated($"calibrated on {result.Card.Calibration.Photos.Count} photos × 4 views; {result.Card.Ranges.Count} activation tensors");
        output.MarkupLineInterpolated($"cosine(int8, fp32) on {check.Photos} held-out photos ({check.Embeddings} views): median {check.CosineMedian:F4}, 1st percentile {check.CosineP01:F4}, min {check.CosineMin:F4}");
        output.MarkupLineInterpolated($"ONNX Runtime's optimized graph: {string.Join(", ", fused.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} ×{kv.Value}"))}");
        return 0;
    }

    /// <summary>The op types of the graph ONNX Runtime actually runs (its optimized model, written to a temporary file).</summary>
    internal static IReadOnlyDictionary<string, int> FusedOps(byte[] model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"otchatsa-optimized-{Environment.ProcessId}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = path })
            using (new InferenceSession(model, options))
            {
            }
            return ResNetQuantizer.OpCounts(File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
