using System.ComponentModel;
using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Imaging;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Training;
using Otchatsa.Vision;
using SkiaSharp;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// The speed story in one run: per-stage latency of one-at-a-time answers over real photos; the bare ONNX Runtime cost
/// of the fp32 and the int8 ResNet18 on the same photos' inputs, interleaved so a noisy machine hits both alike; and
/// optionally a whole catalog build. Peak memory is measured per phase (Linux: the peak is reset between phases).
/// </summary>
internal sealed class BenchCommand : AsyncCommand<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--images <DIR_OR_CSV>")]
        [Description("A folder of photos, or a catalog manifest whose images are used.")]
        public string Images { get; init; } = "";

        [CommandOption("--index <DIR>")]
        [Description("Also time style and search against this index (its view and embedder are used).")]
        public string? Index { get; init; }

        [CommandOption("--limit <N>")]
        public int Limit { get; init; } = 200;

        [CommandOption("--warmup <N>")]
        public int Warmup { get; init; } = 5;

        [CommandOption("--view <VIEW>")]
        public string? View { get; init; }

        [CommandOption("--embedder <int8|fp32>")]
        [Description("The pipeline's ResNet18 (default: int8 when its card is installed). The bare cost is measured for both.")]
        public string? Embedder { get; init; }

        [CommandOption("--raw <N>")]
        [Description("Photos whose inputs time the bare network (fp32 and int8, batch 1, one photo's inputs and two photos'). Default 50; 0 skips.")]
        public int Raw { get; init; } = 50;

        [CommandOption("--candidates <N>")]
        [Description("Photos whose crop+whole/flip inputs (four, whatever --view says) time ways of running one photo's batch of 4 (int8), side by side. Default 0 (skipped).")]
        public int Candidates { get; init; }

        [CommandOption("--build <CSV>")]
        [Description("Also build an index of this whole catalog (into a temporary folder, deleted after).")]
        public string? Build { get; init; }

        [CommandOption("--batch <N>")]
        [Description("With --build: photos per network run (default: the builder's).")]
        public int? Batch { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--images", Images)).ErrorIf(Batch is < 1, "--batch must be at least 1.");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ListPhotos(settings.Images).Take(settings.Limit).ToArray();
        if (files.Length == 0)
        {
            throw new CliException($"No photos found in '{settings.Images}'.");
        }
        var precision = SharedSettings.ParseEmbedder(settings.Embedder);
        var console = AnsiConsole.Console;
        console.MarkupLineInterpolated($"otchatsa bench: {Environment.ProcessorCount} cores, {files.Length} photos from {settings.Images}, {settings.Warmup} warm-up");

        Memory.ResetPeak();
        var load = Stopwatch.StartNew();
        using var runtime = settings.Index is null ? null : OtchatsaRuntime.Open(settings.Index, settings.Models, precision);
        var engine = runtime?.Engine ?? new OutfitEngine(ModelPaths.Locate(settings.Models, precision),
            settings.View is null ? EmbeddingSettings.Default : EmbeddingSettings.Parse(settings.View));
        var loadMs = load.Elapsed.TotalMilliseconds;
        try
        {
            console.MarkupLineInterpolated($"embedder {engine.Embedder.ModelId} (sha {engine.Embedder.ModelSha256[..12]}…), view {engine.Settings.Name}; models loaded in {loadMs:F0} ms");
            var photos = files.Select(File.ReadAllBytes).ToArray();
            var embedP50 = Pipeline(engine, runtime, photos, settings.Warmup, cancellationToken);
            if (settings.Raw > 0)
            {
                Bare(engine, photos.Take(settings.Raw).ToArray(), embedP50, cancellationToken);
            }
            if (settings.Candidates > 0)
            {
                BatchCandidates.Run(engine, photos.Take(settings.Candidates).ToArray(), cancellationToken);
            }
            if (settings.Build is not null)
            {
                await BuildAsync(engine, settings.Build, settings.Batch, cancellationToken);
            }
        }
        finally
        {
            if (runtime is null)
            {
                engine.Dispose();
            }
        }
        return 0;
    }

    /// <summary>Above this, the pipeline's embed stage is reported as slower than the bare network (measured 1.00–1.17).</summary>
    private const double SlowPipelineRatio = 1.3;

    /// <summary>Runs one photo at a time; returns the embed stage's p50.</summary>
    private static double Pipeline(OutfitEngine engine, OtchatsaRuntime? runtime, byte[][] photos, int warmup, CancellationToken cancellationToken)
    {
        var strategy = Strategies.Create(null);
        var samples = new Samples();
        var failed = 0;
        var wall = new Stopwatch();
        var cpu = TimeSpan.Zero;
        for (var round = -Math.Min(warmup, photos.Length); round < photos.Length; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var measure = round >= 0;
            var photo = photos[measure ? round : photos.Length + round];
            if (measure && round == 0)
            {
                wall.Start();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
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
                samples.Add("decode", analysis.Timings.Decode);
                samples.Add("segment (person + views)", analysis.Timings.Segment);
                samples.Add("embed (batch of all views)", analysis.Timings.Embed);
                if (runtime is not null)
                {
                    samples.Add("classify", classify);
                    samples.Add("search", search);
                }
                samples.Add("total", analysis.Timings.Total + classify + search);
            }
            catch (ImageRejectedException)
            {
                failed += measure ? 1 : 0;
            }
        }
        wall.Stop();
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        var views = engine.InputsPerPhoto;
        var console = AnsiConsole.Console;
        console.MarkupLineInterpolated($"[bold]1. one photo at a time[/] ({views} network input(s) per photo, one batch; {(runtime is null ? "no index" : "with index")})");
        console.Write(samples.Table());
        var measured = samples.Count("total");
        console.MarkupLineInterpolated($"{measured} photos in {wall.Elapsed.TotalSeconds:F1} s = {measured / wall.Elapsed.TotalSeconds:F1} photos/s, CPU {cpuMs / Math.Max(1, measured):F1} ms/photo (both cores), {failed} refused; peak memory {Memory.PeakMb():F0} MB");
        return samples.P50("embed (batch of all views)");
    }

    private static void Bare(OutfitEngine engine, byte[][] photos, double embedP50, CancellationToken cancellationToken)
    {
        Memory.ResetPeak();
        var other = engine.Embedder.Precision == EmbedderPrecision.Int8 ? EmbedderPrecision.Fp32 : EmbedderPrecision.Int8;
        var (second, buildMs) = OtherEmbedder(engine.Models, other);
        using var _ = second;
        var embedders = new[] { engine.Embedder, second }.OfType<ResNetEmbedder>()
            .OrderBy(e => e.Precision).ToArray();
        var samples = TimeBare(engine, embedders, photos, cancellationToken);
        var console = AnsiConsole.Console;
        console.MarkupLineInterpolated($"[bold]2. bare ONNX Runtime ResNet18[/], same {samples.Count("fp32 batch 1 (per run)")} photos' inputs, interleaved{(second is not null && other == EmbedderPrecision.Int8 ? $" (int8 model rebuilt from its card in {buildMs:F0} ms)" : "")}");
        console.Write(samples.Table());
        var own = engine.Embedder.Precision.ToString().ToLowerInvariant();
        var runs = engine.InputsPerPhoto;
        var bareOwn = samples.P50(PhotoBatch(own, runs));
        console.MarkupLineInterpolated($"pipeline embed p50 / bare {own} cost of its {runs} input(s) = {embedP50 / bareOwn:F2}");
        if (embedP50 / bareOwn > SlowPipelineRatio)
        {
            // The symptom of a model sharing the network's pool (README, Speed: the segmenter on it cost the next run 2×).
            console.MarkupLineInterpolated($"[yellow]the pipeline's network runs {embedP50 / bareOwn:F1}× slower than bare: something uses the cores between or during its runs (another busy process, or a model on the network's thread pool)[/]");
        }
        var fp32 = samples.P50(PhotoBatch("fp32", runs));
        var int8 = samples.P50(PhotoBatch("int8", runs));
        if (!double.IsNaN(fp32) && !double.IsNaN(int8))
        {
            console.MarkupLineInterpolated($"int8 speed-up, batch {runs}: {fp32 / int8:F2}×; batch 1: {samples.P50("fp32 batch 1 (per run)") / samples.P50("int8 batch 1 (per run)"):F2}×; peak memory with both models {Memory.PeakMb():F0} MB");
        }
    }

    /// <summary>The other precision's ResNet18 and how long it took to load (or build from its card); null when it is missing.</summary>
    private static (ResNetEmbedder? Embedder, double BuildMs) OtherEmbedder(ModelPaths paths, EmbedderPrecision other)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            var second = ResNetEmbedder.Open(paths, paths.With(other).LoadInt8Card());
            return (second, clock.Elapsed.TotalMilliseconds);
        }
        catch (FileNotFoundException ex)
        {
            AnsiConsole.Console.MarkupLineInterpolated($"[yellow]bare cost of {other} skipped: {ex.Message}[/]");
            return (null, 0.0);
        }
    }

    /// <summary>The sample of one photo's inputs run as one batch.</summary>
    private static string PhotoBatch(string precision, int inputs) => $"{precision} batch {inputs} (per photo = {inputs} inputs)";

    /// <summary>
    /// Runs every embedder on each photo's inputs, as the pipeline renders them for its view, at batch 1, one photo's
    /// and two photos' worth, alternating which goes first.
    /// </summary>
    private static Samples TimeBare(OutfitEngine engine, ResNetEmbedder[] embedders, byte[][] photos, CancellationToken cancellationToken)
    {
        const int Plane = 3 * ResNetEmbedder.InputSize * ResNetEmbedder.InputSize;
        var n = engine.InputsPerPhoto;
        var tensor = new float[2 * n * Plane];
        var output = new float[2 * n * ResNetEmbedder.Dimensions];
        var samples = new Samples();
        var index = 0;
        foreach (var photo in photos)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var views = PipelineInputs(engine, photo);
            if (views is null)
            {
                continue;
            }
            for (var b = 0; b < views.Length; b++)
            {
                engine.Embedder.FillInput(views[b], tensor.AsSpan(b * Plane, Plane));
                views[b].Dispose();
            }
            // Two photos a run, as an index build with two photos per run sends (the same inputs twice).
            tensor.AsSpan(0, n * Plane).CopyTo(tensor.AsSpan(n * Plane));
            // Alternate which model goes first, so neither always runs right after the single-threaded view rendering.
            var order = index++ % 2 == 0 ? embedders : embedders.Reverse().ToArray();
            foreach (var embedder in order)
            {
                var name = embedder.Precision.ToString().ToLowerInvariant();
                var clock = Stopwatch.StartNew();
                embedder.RunRaw(tensor, output, 1);
                samples.Add($"{name} batch 1 (per run)", clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                embedder.RunRaw(tensor, output, n);
                samples.Add(PhotoBatch(name, n), clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                embedder.RunRaw(tensor, output, 2 * n);
                samples.Add($"{name} batch {2 * n} (per photo, 2 photos a run)", clock.Elapsed.TotalMilliseconds / 2);
            }
        }
        return samples;
    }

    /// <summary>The network inputs the pipeline renders for the photo (views, then mirrors); null when it is refused.</summary>
    private static SKBitmap[]? PipelineInputs(OutfitEngine engine, byte[] photo)
    {
        try
        {
            using var decoded = ImageDecoder.Decode(photo, engine.Limits);
            return engine.RenderInputs(decoded.Bitmap, engine.Segmenter.Detect(decoded.Bitmap));
        }
        catch (ImageRejectedException)
        {
            return null;
        }
    }

    private static async Task BuildAsync(OutfitEngine engine, string catalog, int? batch, CancellationToken cancellationToken)
    {
        SharedSettings.RequireCatalog(catalog);
        Memory.ResetPeak();
        var outDir = Path.Combine(Path.GetTempPath(), $"otchatsa-bench-index-{Environment.ProcessId}");
        try
        {
            var builder = batch is { } b ? new IndexBuilder(engine) { BatchPhotos = b } : new IndexBuilder(engine);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var summary = await builder.BuildAsync(catalog, outDir, cancellationToken: cancellationToken);
            var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            var console = AnsiConsole.Console;
            console.MarkupLineInterpolated($"[bold]3. catalog build[/] of {catalog}, {builder.BatchPhotos} photo(s) per network run: {summary.Indexed} of {summary.Rows} photos indexed in {summary.Elapsed.TotalSeconds:F1} s = {summary.Indexed / summary.Elapsed.TotalSeconds:F1} photos/s; CPU {cpuMs / Math.Max(1, summary.Indexed):F1} ms/photo; peak memory {Memory.PeakMb():F0} MB");
            if (summary.Timings is { } t)
            {
                console.MarkupLineInterpolated($"   pipeline: {t}");
            }
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }

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

    private sealed class Samples
    {
        private readonly Dictionary<string, List<double>> _values = [];

        public void Add(string stage, double ms)
        {
            if (!_values.TryGetValue(stage, out var list))
            {
                _values[stage] = list = [];
            }
            list.Add(ms);
        }

        public int Count(string stage) => _values.GetValueOrDefault(stage)?.Count ?? 0;

        public double P50(string stage) => Percentile(_values.GetValueOrDefault(stage) ?? [], 0.5);

        public Table Table()
        {
            var table = new Table().AddColumns("stage", "p50 ms", "p95 ms", "mean ms", "n");
            foreach (var (stage, values) in _values)
            {
                table.AddRow(stage, $"{Percentile(values, 0.50):F1}", $"{Percentile(values, 0.95):F1}", $"{values.Average():F1}", $"{values.Count}");
            }
            return table;
        }
    }

    /// <summary>Peak resident memory per phase: Linux resets VmHWM when 5 is written to /proc/self/clear_refs.</summary>
    private static class Memory
    {
        public static void ResetPeak()
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Not Linux, or not allowed: the peak then covers the whole process so far.
            }
        }

        public static double PeakMb()
        {
            try
            {
                var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (line is not null)
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
            return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);
        }
    }
}
