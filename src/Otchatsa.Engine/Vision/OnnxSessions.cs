using Microsoft.ML.OnnxRuntime;

namespace Otchatsa.Vision;

/// <summary>
/// ONNX Runtime set up once per process with one global intra-op thread pool (two threads, not spinning) for the
/// network that needs the cores (ResNet18, <see cref="Options"/>), and small models run on their caller's thread
/// (<see cref="CallerThread"/>).
/// Both alternatives were measured to cost ResNet18 about half its speed on the two cores: with a pool per session
/// the segmenter's threads kept spinning after their run while ResNet18 started (38 ms instead of 21 ms); with the
/// segmenter on the shared pool too, a ResNet18 batch of four right after a segmenter run took 40–45 ms instead of
/// 22–24 ms, for at least 20 ms after it (the segmenter itself is no faster on two threads: 5–8 ms either way).
/// </summary>
public static class OnnxSessions
{
    private static readonly Lock Gate = new();
    private static bool? _sharedPool;

    /// <summary>
    /// Options for a new session that uses the shared pool (the caller disposes them). If something created ONNX
    /// Runtime's environment before (a test loading a model directly), sessions keep their own pools instead.
    /// </summary>
    public static SessionOptions Options()
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (EnsureEnvironment())
        {
            options.DisablePerSessionThreads();
        }
        return options;
    }

    /// <summary>
    /// Options for a small model that runs on the calling thread (one intra-op thread: no pool, nothing spins after
    /// the run), for the person segmenter and the preprocessing graph; the caller disposes them.
    /// </summary>
    public static SessionOptions CallerThread()
    {
        EnsureEnvironment();
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private static bool EnsureEnvironment()
    {
        lock (Gate)
        {
            if (_sharedPool is { } shared)
            {
                return shared;
            }
            if (OrtEnv.IsCreated)
            {
                _sharedPool = false;
                return false;
            }
            var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = Environment.ProcessorCount,
                GlobalInterOpNumThreads = 1,
                // Not spinning between parallel sections: measured side by side (bench, 100 photos, twice each), the
                // same p50 per photo (44.1 / 42.9 ms vs 45.8 / 40.9 spinning), a lower p95 (52 vs 69-73 ms) and 17 %
                // less CPU per photo; an index build of 1,518 photos 56.2 s vs 61.0 s, since the preparing thread no
                // longer competes with idle pool threads for the two cores.
                GlobalSpinControl = false,
            };
            var environment = new EnvironmentCreationOptions
            {
                logId = "otchatsa",
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                threadOptions = threading,
            };
            OrtEnv.CreateInstanceWithOptions(ref environment);
            _sharedPool = true;
            return true;
        }
    }
}
