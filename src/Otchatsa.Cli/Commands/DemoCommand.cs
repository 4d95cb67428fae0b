using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Demo;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// The one-command demo: builds <c>index/demo</c> from Fashion-MNIST the first time, then answers for a held-out
/// photo and writes the nine items as a collage.
/// </summary>
internal sealed class DemoCommand : AsyncCommand<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dir <DIR>")]
        [Description("Where the demo catalog, index and collage go (default: index/).")]
        public string Dir { get; init; } = "index";

        [CommandOption("--per-class <N>")]
        [Description("Fashion-MNIST photos per garment class in the demo catalog.")]
        public int PerClass { get; init; } = 120;

        [CommandOption("--rebuild")]
        public bool Rebuild { get; init; }

        [CommandOption("--json")]
        [Description("Print the answer as the JSON line of the CLI contract.")]
        public bool Json { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var console = CliRunner.Human;
        var root = Path.GetFullPath(settings.Dir);
        var catalogDir = Path.Combine(root, "demo-catalog");
        var indexDir = Path.Combine(root, "demo");
        var manifest = Path.Combine(catalogDir, "manifest.csv");
        var query = Path.Combine(catalogDir, "query.png");

        if (settings.Rebuild || !File.Exists(manifest) || !File.Exists(query))
        {
            var data = await FashionMnist.LocateAsync(cancellationToken: cancellationToken);
            console.MarkupLineInterpolated($"Fashion-MNIST from {data.SourceDescription}");
            var written = data.WriteDemoCatalog(catalogDir, settings.PerClass);
            console.MarkupLineInterpolated($"Demo catalog: {written.ImageCount} photos in {written.ImagesPerMall.Count} malls at {catalogDir}");
        }

        var runtime = settings.Rebuild ? null : TryOpen(indexDir, settings.Models);
        if (runtime is null)
        {
            using (var engine = new OutfitEngine(ModelPaths.Locate(settings.Models)))
            {
                IndexBuildCommand.Report(await IndexBuildCommand.Build(engine, manifest, indexDir, cancellationToken));
            }
            runtime = OtchatsaRuntime.Open(indexDir, settings.Models);
        }
        using (runtime)
        {
            var (line, result) = RecommendCommand.RecommendOne(runtime.Recommender, Strategies.Create(null), query);
            if (settings.Json)
            {
                Console.Out.WriteLine(line.ToJsonLine());
            }
            if (result is null)
            {
                console.MarkupLineInterpolated($"[red]The demo photo could not be analysed:[/] {line.Error!.Message}");
                return 2;
            }
            var collage = AnswerCollage.Render(runtime.Index, result);
            var collagePath = Path.Combine(root, "demo-answer.png");
            await File.WriteAllBytesAsync(collagePath, collage.Bytes, cancellationToken);

            console.MarkupLineInterpolated($"[bold]Query:[/] {query}");
            AnswerText.Write(console, line, result);
            console.MarkupLineInterpolated($"[bold]Collage of the nine items:[/] {collagePath} ({collage.Width}×{collage.Height})");
        }
        return 0;
    }

    private static OtchatsaRuntime? TryOpen(string indexDir, string? models)
    {
        if (!File.Exists(Path.Combine(indexDir, IndexManifest.FileName)))
        {
            return null;
        }
        OtchatsaRuntime? runtime = null;
        try
        {
            runtime = OtchatsaRuntime.Open(indexDir, models);
            // An index from an older default view still opens, but would not be answered by the style head.
            if (runtime.Engine.Settings == EmbeddingSettings.Default)
            {
                return runtime;
            }
        }
        catch (IndexIncompatibleException)
        {
        }
        runtime?.Dispose();
        return null;
    }
}
