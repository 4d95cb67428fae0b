using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Otchatsa.Catalog;
using Otchatsa.Hosting;

namespace Otchatsa.Web;

/// <summary>
/// The engine as the web page sees it: loaded in the background at start (models and index take seconds), so the
/// server answers <c>/healthz</c> with 503 and pages with "warming up" until it is ready. Does not own the runtime:
/// whoever registered <see cref="OtchatsaRuntime"/> (the worker's container, or a test) disposes it.
/// </summary>
public sealed partial class WebRuntime
{
    private readonly Func<OtchatsaRuntime> _open;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<OtchatsaRuntime?> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    public WebRuntime(Func<OtchatsaRuntime> open, ILogger<WebRuntime>? logger = null)
    {
        _open = open ?? throw new ArgumentNullException(nameof(open));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The loaded runtime, or null while loading or after a failed load.</summary>
    public OtchatsaRuntime? Current => _loaded.Task.IsCompleted ? _loaded.Task.Result : null;

    /// <summary>Why loading failed (safe to show: a missing index or model file), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>Completes when loading ends, with the runtime or null on failure; never faults.</summary>
    public Task<OtchatsaRuntime?> Loaded => _loaded.Task;

    /// <summary>Starts loading on the thread pool; later calls do nothing.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }
        _ = Task.Run(Load);
    }

    private void Load()
    {
        var clock = Stopwatch.StartNew();
        LogLoading();
        try
        {
            var runtime = _open();
            LogReady(runtime.Index.Items.Count, runtime.Index.Malls.Count, clock.Elapsed.TotalSeconds);
            _loaded.SetResult(runtime);
        }
        catch (Exception ex)
        {
            // Any failure (missing index, stale index, bad model file) must end in a 503 with a reason, never a hang.
            Failure = ex.Message;
            LogFailed(ex);
            _loaded.SetResult(null);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Web: loading models and index")]
    private partial void LogLoading();

    [LoggerMessage(Level = LogLevel.Information, Message = "Web: ready ({Items} catalog photos, {Malls} malls) in {Seconds:0.0} s")]
    private partial void LogReady(int items, int malls, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Web: could not load models and index; /healthz stays 503")]
    private partial void LogFailed(Exception exception);
}

/// <summary>Kicks off <see cref="WebRuntime"/> loading when the host starts, without holding up the start.</summary>
internal sealed class WebRuntimeStarter(WebRuntime runtime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
