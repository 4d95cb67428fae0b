using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using Otchatsa.Styles;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

internal sealed class IndexBuildCommand : AsyncCommand<IndexBuildCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--catalog <CSV>")]
        [Description("Catalog manifest: image, mall[[, style, title, url, price, mall_url]].")]
        public string Catalog { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Index folder to (re)build; replaced only when the build succeeds.")]
        public string Out { get; init; } = "";

        [CommandOption("--view <VIEW>")]
        [Description("Embedding view: crop, whole, crop-neutral, crop+whole (optionally /flip).")]
        public string? View { get; init; }

        [CommandOption("--embedder <int8|fp32>")]
        [Description("ResNet18 weights (default: int8 when its card is installed, or $OTCHATSA_EMBEDDER).")]
        public string? Embedder { get; init; }

        [CommandOption("--embedder-model <ONNX>")]
        [Description(SharedSettings.EmbedderModelHelp)]
        public string? EmbedderModel { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        [CommandOption("--allow-private-networks")]
        [Description("Also fetch image URLs on loopback, private and link-local addresses (your own intranet). Or set OTCHATSA_ALLOW_PRIVATE_NETWORKS=1.")]
        public bool AllowPrivateNetworks { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--catalog", Catalog), ("--out", Out));
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        SharedSettings.RequireCatalog(settings.Catalog);
        var embedding = settings.View is null ? EmbeddingSettings.Default : EmbeddingSettings.Parse(settings.View);
        var precision = SharedSettings.ParseEmbedder(settings.Embedder);
        using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models, precision, settings.EmbedderModel), embedding);
        var allowPrivate = settings.AllowPrivateNetworks
                           || Environment.GetEnvironmentVariable(CatalogFetchOptions.AllowPrivateNetworksVariable) is "1" or "true" or "True";
        var fetch = CatalogFetchOptions.Default with { AllowPrivateNetworks = allowPrivate };
        var summary = await Build(engine, settings.Catalog, settings.Out, cancellationToken, fetch);
        Report(summary);
        return 0;
    }

    /// <summary>Builds with a progress bar on stderr (plain lines when stderr is not a terminal).</summary>
    internal static async Task<IndexBuildSummary> Build(
        OutfitEngine engine, string catalog, string outDir, CancellationToken cancellationToken, CatalogFetchOptions? fetch = null)
    {
        var builder = new IndexBuilder(engine, fetch);
        var console = CliRunner.Human;
        IndexBuildSummary? summary = null;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"indexing {Path.GetFileName(catalog)}");
                var progress = new Progress<IndexBuildProgress>(p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                    task.Description = $"indexed {p.Indexed}, skipped {p.Skipped}";
                });
                // Unlabelled rows get the style as served (the 23-style head mixed with the labelled rows' vote), so mall
                // profiles and the seed strategy see the same styles as the answers.
                summary = await builder.BuildAsync(catalog, outDir, view => StyleClassifiers.For(engine, view), progress, cancellationToken);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    internal static void Report(IndexBuildSummary summary)
    {
        var console = CliRunner.Human;
        console.MarkupLineInterpolated(
            $"[green]Index ready[/] at {summary.Directory}: {summary.Indexed} of {summary.Rows} photos indexed, {summary.Skipped} skipped, {summary.Malls} malls, {summary.Elapsed.TotalSeconds:F1} s.");
        if (summary.Timings is { } timings)
        {
            console.MarkupLineInterpolated($"[grey]{timings}[/]");
        }
        if (summary.PredictedStyles > 0)
        {
            console.MarkupLineInterpolated($"Styles predicted for {summary.PredictedStyles} unlabelled photos.");
        }
        foreach (var (reason, count) in summary.SkippedByReason.OrderByDescending(kv => kv.Value))
        {
            console.MarkupLineInterpolated($"  skipped {count} × {reason}");
        }
        foreach (var example in summary.SkipExamples.Take(10))
        {
            console.MarkupLineInterpolated($"    {example}");
        }
    }
}
