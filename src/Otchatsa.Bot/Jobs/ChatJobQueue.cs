using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;

namespace Otchatsa.Bot.Jobs;

/// <summary>Shape of the shared analysis queue.</summary>
public sealed record ChatQueueOptions
{
    /// <summary>Jobs waiting for a worker; a full queue makes the front ends wait (they stop polling for a moment).</summary>
    public int Capacity { get; init; } = 256;

    /// <summary>Fixed number of workers; each runs one analysis at a time.</summary>
    public int Workers { get; init; } = 2;
}

/// <summary>Answers the stored jobs of one chat network.</summary>
public interface IChatJobHandler
{
    string Network { get; }

    /// <summary>
    /// Sends the whole reply for <paramref name="job"/>. The handler's network client is the one retry layer (it
    /// retries each request only where that is safe); throwing means the job failed for good.
    /// </summary>
    Task HandleAsync(ChatJob job, CancellationToken cancellationToken);

    /// <summary>
    /// Tells the user, in one short message, that their photo could not be answered after all; called once when a job
    /// failed for good, so an accepted photo never ends in silence.
    /// </summary>
    Task ApologizeAsync(ChatJob job, CancellationToken cancellationToken);
}

/// <summary>
/// The bounded analysis queue all front ends share: a <see cref="Channel{T}"/> with a fixed set of workers. A job is
/// marked done in <see cref="JobOutbox"/> only after its handler returned, so an aborted job is resumed on the
/// next start. The queue runs a job once and never retries it: retries belong to the network clients, which know
/// which request is safe to repeat. <see cref="DrainAsync"/> completes the queue and lets the workers finish what is
/// queued.
/// </summary>
public sealed partial class ChatJobQueue : IAsyncDisposable
{
    private readonly Channel<ChatJob> _channel;
    private readonly JobOutbox _outbox;
    private readonly Dictionary<string, IChatJobHandler> _handlers;
    private readonly ChatQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ChatJobQueue> _logger;
    private readonly CancellationTokenSource _abort = new();
    private Task[] _workers = [];
    private int _queued;

    public ChatJobQueue(
        JobOutbox outbox,
        IEnumerable<IChatJobHandler> handlers,
        ChatQueueOptions options,
        TimeProvider time,
        ILogger<ChatJobQueue> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Workers, 1);
        _outbox = outbox;
        _handlers = handlers.ToDictionary(h => h.Network, StringComparer.Ordinal);
        _options = options;
        _time = time;
        _logger = logger;
        _channel = Channel.CreateBounded<ChatJob>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
    }

    /// <summary>Jobs waiting for a worker.</summary>
    public int Queued => Volatile.Read(ref _queued);

    public ChatQueueOptions Options => _options;

    public void Start()
    {
        if (_workers.Length > 0)
        {
            throw new InvalidOperationException("The queue is already running.");
        }
        // Each worker runs its analysis synchronously on a pool thread. With the pool's minimum at the core count (2 on
        // a small server) busy workers would leave no thread for the front ends' continuations — gateway frames,
        // heartbeats, the SQLite insert that accepts a message — until the pool slowly injects more (seconds, measured
        // by the kill run). Keep a thread per core free beside the workers.
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, Environment.ProcessorCount + _options.Workers), minIo);
        _workers = Enumerable.Range(0, _options.Workers).Select(_ => Task.Run(WorkAsync)).ToArray();
    }

    /// <summary>Queues a stored job; waits while the queue is full.</summary>
    public async ValueTask EnqueueAsync(ChatJob job, CancellationToken cancellationToken)
    {
        await _channel.Writer.WriteAsync(job, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _queued);
        ChatMetrics.Enqueued();
    }

    /// <summary>
    /// Stops taking jobs and waits until the workers have answered everything queued. When
    /// <paramref name="cancellationToken"/> fires, the jobs in flight are abandoned (they stay pending in the store).
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        using var registration = cancellationToken.Register(_abort.Cancel);
        await Task.WhenAll(_workers).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _abort.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
        _abort.Dispose();
    }

    private async Task WorkAsync()
    {
        try
        {
            await foreach (var job in _channel.Reader.ReadAllAsync(_abort.Token).ConfigureAwait(false))
            {
                Interlocked.Decrement(ref _queued);
                ChatMetrics.Dequeued();
                ChatMetrics.Stage(job.Network, ChatMetrics.QueueWait, _time.GetUtcNow() - job.AcceptedAt);
                await ProcessAsync(job, _abort.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Aborted shutdown: whatever was in flight stays pending in the store and is resumed next time.
        }
    }

    private async Task ProcessAsync(ChatJob job, CancellationToken cancellationToken)
    {
        if (!_handlers.TryGetValue(job.Network, out var handler))
        {
            LogNoHandler(job.Network, job.Id);
            return;
        }
        try
        {
            await handler.HandleAsync(job, cancellationToken).ConfigureAwait(false);
            _outbox.MarkDone(job.Id);
            ChatMetrics.Answered(job.Network, _time.GetUtcNow() - job.AcceptedAt);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogFailed(ex, job.Network, job.Id);
            _outbox.MarkFailed(job.Id);
            ChatMetrics.Failed(job.Network, _time.GetUtcNow() - job.AcceptedAt);
            await ApologizeAsync(handler, job, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ApologizeAsync(IChatJobHandler handler, ChatJob job, CancellationToken cancellationToken)
    {
        try
        {
            await handler.ApologizeAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogApologyFailed(ex, job.Network, job.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the user that {Network} job {JobId} failed")]
    private partial void LogApologyFailed(Exception exception, string network, long jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "No handler for {Network} job {JobId}; it stays pending")]
    private partial void LogNoHandler(string network, long jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Network} job {JobId} failed; apologising")]
    private partial void LogFailed(Exception exception, string network, long jobId);
}
