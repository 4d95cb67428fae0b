using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Otchatsa.Numerics;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// `bench --candidates N`: ways of running ONE photo's four int8 inputs, timed on the same inputs, the order rotated per
/// photo so a shared machine's noise hits every way alike. Each way's embeddings are compared with the pipeline's.
/// </summary>
internal static class BatchCandidates
{
    private const int Plane = 3 * ResNetEmbedder.InputSize * ResNetEmbedder.InputSize;
    private const int Dim = ResNetEmbedder.Dimensions;
    private const int Compared = 20;
    private const int WarmRuns = 10;

    private sealed record Way(string Name, ResNetEmbedder Embedder, Action<ResNetEmbedder, Inputs> Run);

    /// <summary>One photo's four inputs as one array and as two halves (so a half can run without copying).</summary>
    private sealed class Inputs
    {
        public float[] All { get; } = new float[4 * Plane];
        public float[] First { get; } = new float[2 * Plane];
        public float[] Second { get; } = new float[2 * Plane];
        public float[] Output { get; } = new float[4 * Dim];
        public float[] OutFirst { get; } = new float[2 * Dim];
        public float[] OutSecond { get; } = new float[2 * Dim];

        public void Split()
        {
            All.AsSpan(0, 2 * Plane).CopyTo(First);
            All.AsSpan(2 * Plane, 2 * Plane).CopyTo(Second);
        }

        public void JoinHalves()
        {
            OutFirst.CopyTo(Output, 0);
            OutSecond.CopyTo(Output, 2 * Dim);
        }
    }

    public static void Run(OutfitEngine engine, byte[][] photos, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        if (engine.Embedder.Precision != EmbedderPrecision.Int8 || engine.InputsPerPhoto != 4)
        {
            console.MarkupLine("[yellow]batch candidates skipped: they need the int8 embedder and a 4-input view.[/]");
            return;
        }
        var card = engine.Models.LoadInt8Card();
        var owned = new List<ResNetEmbedder>();
        ResNetEmbedder Make(Action<SessionOptions> configure, bool sharedPool)
        {
            using var options = sharedPool ? OnnxSessions.Options() : new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            configure(options);
            var embedder = ResNetEmbedder.Open(engine.Models, card, options);
            owned.Add(embedder);
            return embedder;
        }
        try
        {
            var current = engine.Embedder;
            var ways = new List<Way>
            {
                new("A current: 1 run of 4 (shared pool)", current, One),
                new("A' control: a second session like A", Make(_ => { }, true), One),
                new("B 2 runs of 2, one after the other", current, Sequential),
                new("C 2 runs of 2 at once (shared pool)", current, Concurrent),
                new("D fixed batch 4 (free-dim override N=4)", Make(o => o.AddFreeDimensionOverrideByName("N", 4), true), One),
                new("F denormal as zero", Make(o => o.AddSessionConfigEntry("session.set_denormal_as_zero", "1"), true), One),
                new("G own 2-thread pool, dynamic_block_base 4", Make(o =>
                {
                    o.IntraOpNumThreads = Environment.ProcessorCount;
                    o.AddSessionConfigEntry("session.dynamic_block_base", "4");
                    o.AddSessionConfigEntry("session.intra_op.allow_spinning", "1");
                }, false), One),
                new("H own 2-thread pool, no spinning", Make(o =>
                {
                    o.IntraOpNumThreads = Environment.ProcessorCount;
                    o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                }, false), One),
            };
            var single = Make(o =>
            {
                o.IntraOpNumThreads = 1;
                o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            }, false);
            ways.Add(new("I 1-thread session: 2 runs of 2 at once", single, Concurrent));
            ways.Add(new("J 1-thread session: 1 run of 4", single, One));

            // Photos run in blocks: each way runs the whole block (its weights stay warm, as in serving), then the next
            // way, in a new random order per block (a fixed cycle made one way always follow another: measured, a bias of
            // up to 30 % between two identical sessions). A fresh copy of the current session is the control.
            const int Block = 4;
            var shuffle = new Random(13);
            using var process = Process.GetCurrentProcess();
            var cpuMs = ways.ToDictionary(w => w.Name, _ => 0.0);
            var samples = ways.ToDictionary(w => w.Name, _ => new List<double>());
            var maxDiff = ways.ToDictionary(w => w.Name, _ => 0.0);
            var minCos = ways.ToDictionary(w => w.Name, _ => 1.0);
            var warmSamples = ways.ToDictionary(w => w.Name, _ => new List<double>());
            var block = new List<(byte[] Photo, Inputs Inputs)>();
            var photosRun = 0;
            var warm = false;
            for (var p = 0; p <= photos.Length; p++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (p < photos.Length)
                {
                    var inputs = new Inputs();
                    if (!Prepare(engine, photos[p], inputs))
                    {
                        continue;
                    }
                    block.Add((photos[p], inputs));
                    if (block.Count < Block)
                    {
                        continue;
                    }
                }
                if (block.Count == 0)
                {
                    break;
                }
                if (!warm)
                {
                    // Warm every way (first runs allocate and plan memory): the pipeline phase already warmed A's session.
                    foreach (var way in ways)
                    {
                        for (var i = 0; i < WarmRuns; i++)
                        {
                            way.Run(way.Embedder, block[i % block.Count].Inputs);
                        }
                    }
                    warm = true;
                }
                var outputs = new float[ways.Count][][];
                var order = Enumerable.Range(0, ways.Count).ToArray();
                shuffle.Shuffle(order);
                foreach (var w in order)
                {
                    var way = ways[w];
                    outputs[w] = new float[block.Count][];
                    for (var i = 0; i < block.Count; i++)
                    {
                        // In context: the photo's segmentation and views run right before, as in the pipeline (the
                        // segmenter shares the pool and the caches); then the same inputs again, warm.
                        var inputs = block[i].Inputs;
                        Prepare(engine, block[i].Photo, inputs);
                        process.Refresh();
                        var cpu = process.TotalProcessorTime;
                        var clock = Stopwatch.StartNew();
                        way.Run(way.Embedder, inputs);
                        samples[way.Name].Add(clock.Elapsed.TotalMilliseconds);
                        process.Refresh();
                        cpuMs[way.Name] += (process.TotalProcessorTime - cpu).TotalMilliseconds;
                        outputs[w][i] = (float[])inputs.Output.Clone();
                        clock.Restart();
                        way.Run(way.Embedder, inputs);
                        warmSamples[way.Name].Add(clock.Elapsed.TotalMilliseconds);
                    }
                }
                for (var i = 0; i < block.Count && photosRun + i < Compared; i++)
                {
                    for (var w = 0; w < ways.Count; w++)
                    {
                        Compare(outputs[0][i], outputs[w][i], out var diff, out var cos);
                        maxDiff[ways[w].Name] = Math.Max(maxDiff[ways[w].Name], diff);
                        minCos[ways[w].Name] = Math.Min(minCos[ways[w].Name], cos);
                    }
                }
                photosRun += block.Count;
                block.Clear();
            }
            var index = photosRun;
            var baseline = BenchCommand.Percentile(samples[ways[0].Name], 0.5);
            var warmBaseline = BenchCommand.Percentile(warmSamples[ways[0].Name], 0.5);
            console.MarkupLineInterpolated($"[bold]2b. batch-of-4 candidates[/] (int8, one photo's 4 inputs), {index} photos in blocks of {Block}, the ways in a new random order per block; embeddings compared with A on the first {Math.Min(index, Compared)}; p50/CPU: each run right after its photo's segmentation, as in the pipeline; warm: the same inputs again at once");
            // Plain lines straight to stdout, not a table: Spectre wraps at 80 columns when the output is redirected.
            Console.WriteLine($"{"way",-44} {"p50 ms",7} {"p95 ms",7} {"p50/A",6} {"CPU ms",7} {"warm p50",8} {"warm/A",6} {"max|diff|",9} {"min cos",9} {"n",4}");
            foreach (var way in ways)
            {
                var values = samples[way.Name];
                var p50 = BenchCommand.Percentile(values, 0.5);
                Console.WriteLine($"{way.Name,-44} {p50,7:F1} {BenchCommand.Percentile(values, 0.95),7:F1} {p50 / baseline,6:F2} {cpuMs[way.Name] / values.Count,7:F1} {BenchCommand.Percentile(warmSamples[way.Name], 0.5),8:F1} {BenchCommand.Percentile(warmSamples[way.Name], 0.5) / warmBaseline,6:F2} {maxDiff[way.Name],9:E1} {minCos[way.Name],9:F7} {values.Count,4}");
            }
        }
        finally
        {
            foreach (var embedder in owned)
            {
                embedder.Dispose();
            }
        }
    }

    /// <summary>Decodes and segments the photo and writes its four network inputs; false when the photo gives no views.</summary>
    private static bool Prepare(OutfitEngine engine, byte[] photo, Inputs inputs)
    {
        var views = Int8Calibrator.Views(engine, photo);
        if (views is null)
        {
            return false;
        }
        for (var b = 0; b < views.Length; b++)
        {
            engine.Embedder.FillInput(views[b], inputs.All.AsSpan(b * Plane, Plane));
            views[b].Dispose();
        }
        inputs.Split();
        return true;
    }

    private static void Compare(float[] reference, float[] other, out double maxDiff, out double minCos)
    {
        maxDiff = 0;
        minCos = 1;
        for (var b = 0; b < 4; b++)
        {
            var x = reference.AsSpan(b * Dim, Dim).ToArray();
            var y = other.AsSpan(b * Dim, Dim).ToArray();
            VectorMath.Normalize(x);
            VectorMath.Normalize(y);
            double dot = 0;
            for (var i = 0; i < Dim; i++)
            {
                dot += (double)x[i] * y[i];
                maxDiff = Math.Max(maxDiff, Math.Abs(x[i] - y[i]));
            }
            minCos = Math.Min(minCos, dot);
        }
    }

    private static void One(ResNetEmbedder embedder, Inputs inputs) => embedder.RunRaw(inputs.All, inputs.Output, 4);

    private static void Sequential(ResNetEmbedder embedder, Inputs inputs)
    {
        embedder.RunRaw(inputs.First, inputs.OutFirst, 2);
        embedder.RunRaw(inputs.Second, inputs.OutSecond, 2);
        inputs.JoinHalves();
    }

    private static void Concurrent(ResNetEmbedder embedder, Inputs inputs)
    {
        var other = Task.Run(() => embedder.RunRaw(inputs.Second, inputs.OutSecond, 2));
        embedder.RunRaw(inputs.First, inputs.OutFirst, 2);
        other.Wait();
        inputs.JoinHalves();
    }
}
