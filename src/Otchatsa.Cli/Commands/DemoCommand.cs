using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Demo;
using Otchatsa.Hosting;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Rendering;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// The one-command demo: builds <c>index/demo</c> from the embedded Fashion-MNIST subset (or, with <c>--full</c>, the
/// full test split) the first time, then answers for a held-out photo and writes the nine items as a collage.
/// </summary>
internal sealed class DemoCommand : AsyncCommand<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dir <DIR>")]
        [Description("Where the demo catalog, index and collage go (default: index/).")]
        public string Dir { get; init; } = "index";

        [CommandOption("--per-class <N>")]
        [Description("Fashion-MNIST photos per garment class in the demo catalog (default 80; at most 80 without --full).")]
        public int? PerClass { get; init; }

        [CommandOption("--full")]
        [Description("Take the photos from the full Fashion-MNIST test split ($OTCHATSA_FASHION_MNIST, the Debian package, or a download) instead of the embedded subset.")]
        public bool Full { get; init; }

        [CommandOption("--write-subset <DIR>")]
        [Description("Maintainers: regenerate the embedded demo data from the full test split into DIR, then stop.")]
        public string? WriteSubset { get; init; }

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

        if (settings.WriteSubset is { } subsetDir)
        {
            var full = await LocateFullAsync(cancellationToken);
            FashionMnistSubset.Write(full, subsetDir);
            console.MarkupLineInterpolated($"Wrote the demo subset ({FashionMnistSubset.PerClass} test images per class) from {full.SourceDescription} to {Path.GetFullPath(subsetDir)}");
            return 0;
        }

        int perClass = settings.PerClass ?? FashionMnistSubset.MaxCatalogPerClass;
        if (perClass < 1)
        {
            throw new CliException("--per-class must be at least 1.");
        }
        if (!settings.Full && perClass > FashionMnistSubset.MaxCatalogPerClass)
        {
            throw new CliException(
                $"the embedded demo data has {FashionMnistSubset.MaxCatalogPerClass} photos per class; add --full for more (needs the full Fashion-MNIST test split).");
        }

        // The catalog is rewritten (and the index rebuilt) whenever its source or size changes.
        var key = $"{(settings.Full ? "full" : "embedded")} per-class={perClass}";
        var keyPath = Path.Combine(catalogDir, "catalog.key");
        bool newCatalog = settings.Rebuild || !File.Exists(manifest) || !File.Exists(query)
                          || !File.Exists(keyPath) || File.ReadAllText(keyPath).Trim() != key;
        if (newCatalog)
        {
            var data = settings.Full ? await LocateFullAsync(cancellationToken) : FashionMnist.Embedded();
            console.MarkupLineInterpolated($"Fashion-MNIST from {data.SourceDescription}");
            if (Directory.Exists(catalogDir))
            {
                Directory.Delete(catalogDir, recursive: true);
            }
            var written = data.WriteDemoCatalog(catalogDir, perClass);
            await File.WriteAllTextAsync(keyPath, key + "\n", cancellationToken);
            console.MarkupLineInterpolated($"Demo catalog: {written.ImageCount} photos in {written.ImagesPerMall.Count} malls at {catalogDir}");
        }

        var runtime = newCatalog ? null : TryOpen(indexDir, settings.Models);
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

    private static async Task<FashionMnist> LocateFullAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await FashionMnist.LocateAsync(cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException(
                $"no full Fashion-MNIST test split for --full ({CliRunner.FirstLine(ex.Message)}); set ${FashionMnistOptions.EnvironmentVariable} to a folder with "
                + $"{FashionMnist.TestImages.FileName} and {FashionMnist.TestLabels.FileName}, install the Debian package dataset-fashion-mnist, "
                + "or run the demo without --full (embedded data).");
        }
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
