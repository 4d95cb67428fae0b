using System.ComponentModel;
using Otchatsa.Embeddings;
using Otchatsa.Pipeline;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>Fills the embedding cache for a labelled manifest, so later train and eval runs only read vectors.</summary>
internal sealed class EmbedCommand : Command<EmbedCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--data <CSV>")]
        [Description("Labelled manifest (image, mall, style, substyle, product, garments).")]
        public string Data { get; init; } = "";

        [CommandOption("--views <LIST>")]
        [Description("Comma-separated views to cache: crop, whole, crop-neutral, crop+whole, each optionally /flip. Default: the product's default view.")]
        public string? Views { get; init; }

        [CommandOption("--other-backgrounds")]
        [Description("Also cache each photo's person pasted onto another photo's background (evaluation queries).")]
        public bool OtherBackgrounds { get; init; }

        [CommandOption("--background-every <N>")]
        [Description(SharedSettings.BackgroundEveryHelp)]
        public int BackgroundEvery { get; init; } = 1;

        [CommandOption("--preview <DIR>")]
        [Description("Write the first few other-background queries as PNG files to this folder, to look at them.")]
        public string? Preview { get; init; }

        [CommandOption("--cache <DIR>")]
        [Description(SharedSettings.CacheHelp)]
        public string? Cache { get; init; }

        [CommandOption("--embedder-model <ONNX>")]
        [Description(SharedSettings.EmbedderModelHelp)]
        public string? EmbedderModel { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--data", Data));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var views = ParseViews(settings.Views);
        using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models, embedderModel: settings.EmbedderModel));
        var extractor = FeatureExtractor.Create(engine, settings.Cache);
        var photos = LabelledPhotos.Read(RequireFile(settings.Data));
        if (settings.Preview is not null)
        {
            Directory.CreateDirectory(settings.Preview);
            for (var i = 0; i < Math.Min(8, photos.Count); i++)
            {
                using var swapped = extractor.Swap(File.ReadAllBytes(photos[i].Path), File.ReadAllBytes(photos[LabelledPhotos.BackgroundFor(photos, i)].Path));
                using var data = swapped.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(settings.Preview, $"other-background-{i}.png"), data.ToArray());
            }
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        WithProgress($"embedding {photos.Count} photos", progress =>
            LabelledPhotos.Extract(extractor, photos, views, settings.OtherBackgrounds, progress, cancellationToken, settings.BackgroundEvery));
        CliRunner.Human.MarkupLineInterpolated(
            $"[green]Cached[/] {string.Join(", ", views.Select(v => v.Name))} for {photos.Count} photos in {clock.Elapsed.TotalSeconds:F0} s ({extractor.Cache.Directory}).");
        return 0;
    }

    internal static IReadOnlyList<EmbeddingSettings> ParseViews(string? views) =>
        string.IsNullOrWhiteSpace(views)
            ? [EmbeddingSettings.Default]
            : views.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(ParseView).Distinct().ToArray();

    internal static EmbeddingSettings ParseView(string view)
    {
        try
        {
            return EmbeddingSettings.Parse(view);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    internal static string RequireFile(string path) =>
        File.Exists(path) ? path : throw new CliException($"'{path}' does not exist.");

    /// <summary>Runs <paramref name="work"/> with a progress bar on stderr.</summary>
    internal static T WithProgress<T>(string title, Func<IProgress<FeatureProgress>, T> work)
    {
        T result = default!;
        CliRunner.Human.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title);
                var progress = new SyncProgress(p =>
                {
                    task.MaxValue = p.Total;
                    task.Value = p.Done;
                });
                result = work(progress);
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and race the bar).</summary>
    private sealed class SyncProgress(Action<FeatureProgress> report) : IProgress<FeatureProgress>
    {
        public void Report(FeatureProgress value) => report(value);
    }
}
