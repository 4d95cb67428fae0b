using System.ComponentModel;
using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Vision;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// Per-stage latency over real photos, next to the bare ONNX Runtime cost of ResNet18 measured in the same run on the
/// same inputs, so the embedding stage's overhead is a ratio rather than a number from another day.
/// </summary>
internal sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--images <DIR_OR_CSV>")]
        [Description("A folder of photos, or a catalog manifest whose images are used.")]
        public string Images { get; init; } = "";

        [CommandOption("--index <DIR>")]
        [Description("Also time style and search against this index.")]
        public string? Index { get; init; }

        [CommandOption("--limit <N>")]
        public int Limit { get; init; } = 200;

        [CommandOption("--warmup <N>")]
        public int Warmup { get; init; } = 5;

        [CommandOption("--view <VIEW>")]
        public string? View { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Images) ? ValidationResult.Error("--images is required.") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ListPhotos(settings.Images).Take(settings.Limit).ToArray();
        if (files.Length == 0)
        {
            throw new CliException($"No photos found in '{settings.Images}'.");
        }
        using var runtime = settings.Index is null ? null : OtchatsaRuntime.Open(settings.Index, settings.Models);
        var engine = runtime?.Engine ?? new OutfitEngine(ModelPaths.Locate(settings.Models),
            settings.View is null ? EmbeddingSettings.Default : EmbeddingSettings.Parse(settings.View));
        try
        {
            return Run(engine, runtime, files, settings.Warmup, cancellationToken);
        }
        finally
        {
            if (runtime is null)
            {
                engine.Dispose();
            }
        }
    }

    private static int Run(OutfitEngine engine, OtchatsaRuntime? runtime, string[] files, int warmup, CancellationToken cancellationToken)
    {
        var strategy = Strategies.Create(null);
        var samples = new Dictionary<string, List<double>>();
        void Add(string stage, double ms)
        {
            if (!samples.TryGetValue(stage, out var list))
            {
                samples[stage] = list = [];
            }
            list.Add(ms);
        }

        var tensor = new float[3 * ResNetEmbedder.InputSize * ResNetEmbedder.InputSize];
        var output = new float[ResNetEmbedder.Dimensions];
        var photos = files.Select(File.ReadAllBytes).ToArray();
        var failed = 0;
        var wall = new Stopwatch();
        for (var round = -Math.Min(warmup, photos.Length); round < photos.Length; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var measure = round >= 0;
            var photo = photos[measure ? round : photos.Length + round];
            if (measure && round == 0)
            {
                wall.Start();
            }
            try
            {
                var analysis = engine.Analyze(photo);
                double classify = 0, search = 0;
                if (runtime is not null)
                {
                    var result = runtime.Recommender.Recommend(analysis, strategy);
                    classify = result.ClassifyMs;
                    search = result.SearchMs;
                }
                if (!measure)
                {
                    continue;
                }
                Add("decode", analysis.Timings.Decode);
                Add("segment", analysis.Timings.Segment);
                Add("embed", analysis.Timings.Embed);
                if (runtime is not null)
                {
                    Add("classify", classify);
                    Add("search", search);
                }
                Add("total", analysis.Timings.Total + classify + search);
            }
            catch (ImageRejectedException)
            {
                failed += measure ? 1 : 0;
                continue;
            }

            // Outside the timed pipeline: the bare network on this photo's own prepared input (its whole-image view),
            // once per photo, in the same process and moment.
            wall.Stop();
            using (var decoded = ImageDecoder.Decode(photo, engine.Limits))
            using (var view = OutfitCropper.Render(decoded.Bitmap, NoPerson(decoded.Bitmap), OutfitView.Whole))
            {
                engine.Embedder.FillInput(view, tensor);
            }
            var clock = Stopwatch.StartNew();
            engine.Embedder.RunRaw(tensor, output);
            Add("resnet18_onnx_raw", clock.Elapsed.TotalMilliseconds);
            wall.Start();
        }
        wall.Stop();

        var console = AnsiConsole.Console;
        var table = new Table().AddColumns("stage", "p50 ms", "p95 ms", "mean ms", "n");
        foreach (var (stage, values) in samples)
        {
            table.AddRow(stage, $"{Percentile(values, 0.50):F1}", $"{Percentile(values, 0.95):F1}", $"{values.Average():F1}", $"{values.Count}");
        }
        console.Write(table);
        var measured = samples.GetValueOrDefault("total")?.Count ?? 0;
        var embedP50 = Percentile(samples.GetValueOrDefault("embed") ?? [0], 0.5);
        var rawP50 = Percentile(samples.GetValueOrDefault("resnet18_onnx_raw") ?? [1], 0.5);
        var views = engine.Settings.View == OutfitView.CropPlusWhole ? 2 : 1;
        views *= engine.Settings.FlipAverage ? 2 : 1;
        console.MarkupLineInterpolated($"view {engine.Settings.Name}: {views} network run(s) per photo; embed p50 / ({views} × raw p50) = {embedP50 / (views * rawP50):F3}");
        console.MarkupLineInterpolated($"{measured} photos in {wall.Elapsed.TotalSeconds:F1} s = {measured / wall.Elapsed.TotalSeconds:F1} images/s (one at a time), {failed} refused");
        console.MarkupLineInterpolated($"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):F0} MB, {Environment.ProcessorCount} cores");
        return 0;
    }

    private static PersonDetection NoPerson(SkiaSharp.SKBitmap image) =>
        new(false, new SkiaSharp.SKRectI(0, 0, image.Width, image.Height), 0f, new PersonMask(1, 1, [0f]));

    internal static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = p * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    private static IEnumerable<string> ListPhotos(string source)
    {
        if (File.Exists(source) && source.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            return CatalogManifest.Read(source).Where(r => r.ResolvedPath is not null).Select(r => r.ResolvedPath!);
        }
        if (Directory.Exists(source))
        {
            string[] extensions = [".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"];
            return Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
                .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal);
        }
        throw new CliException($"'{source}' is neither a folder nor a .csv manifest.");
    }
}
