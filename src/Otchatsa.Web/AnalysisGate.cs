using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Otchatsa.Web;

/// <summary>
/// Bounds the page's work and memory before a request body is read. At most <c>permits + queue</c> uploads are
/// admitted at once — a request that finds no room is turned away (503 with <c>Retry-After</c>) without its body being
/// read — and each admitted upload is read into one buffer of at most <c>maxRequestBytes</c> lent by this gate, so
/// the bytes of uploads held in memory never exceed <c>(permits + queue) × maxRequestBytes</c>. Of the admitted
/// uploads, <c>permits</c> are analysed at a time and the others wait in arrival order.
/// </summary>
public sealed class AnalysisGate : IDisposable
{
    /// <summary>Before the first analysis has been timed, one is assumed to take this long (for <see cref="RetryAfter"/>).</summary>
    private static readonly TimeSpan InitialEstimate = TimeSpan.FromSeconds(1);

    private readonly ConcurrencyLimiter _admission;
    private readonly ConcurrencyLimiter _analysis;
    private readonly TimeProvider _time;
    private readonly int _permits;
    private long _averageTicks = InitialEstimate.Ticks;

    public AnalysisGate(int permits, int queue, long maxRequestBytes, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permits, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queue);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRequestBytes, 1);
        _permits = permits;
        Capacity = permits + queue;
        MaxUploadBytes = (int)Math.Min(maxRequestBytes, Array.MaxLength);
        _time = time ?? TimeProvider.System;
        _admission = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = Capacity, QueueLimit = 0 });
        // Never overflows: only admitted requests wait here, and there are at most Capacity of them.
        _analysis = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = permits,
            QueueLimit = Capacity,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        Buffers = new UploadBuffers(MaxUploadBytes, Capacity);
    }

    /// <summary>Uploads admitted at once: analyses running plus those waiting.</summary>
    public int Capacity { get; }

    /// <summary>The largest upload one admitted request may buffer.</summary>
    public int MaxUploadBytes { get; }

    /// <summary>Where admitted requests borrow their upload buffer (return it when done).</summary>
    internal UploadBuffers Buffers { get; }

    /// <summary>Uploads admitted right now (for tests and diagnostics).</summary>
    public long Admitted => Capacity - (_admission.GetStatistics()?.CurrentAvailablePermits ?? 0);

    /// <summary>
    /// Reserves room for one upload without waiting: <see cref="RateLimitLease.IsAcquired"/> is false when every
    /// place is taken. Hold the lease until the request is answered.
    /// </summary>
    public RateLimitLease TryAdmit() => _admission.AttemptAcquire(1);

    /// <summary>Waits (in arrival order) for one of the analysis slots; hold the lease while analysing.</summary>
    public ValueTask<RateLimitLease> WaitForSlotAsync(CancellationToken cancellationToken) => _analysis.AcquireAsync(1, cancellationToken);

    /// <summary>Times <paramref name="analysis"/> and keeps a moving average for <see cref="RetryAfter"/>.</summary>
    public T Timed<T>(Func<T> analysis)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var started = _time.GetTimestamp();
        try
        {
            return analysis();
        }
        finally
        {
            var ticks = _time.GetElapsedTime(started).Ticks;
            // Exponential moving average over roughly the last eight analyses; races only blur the estimate.
            var average = Interlocked.Read(ref _averageTicks);
            Interlocked.Exchange(ref _averageTicks, average + ((ticks - average) / 8));
        }
    }

    /// <summary>
    /// When a turned-away client should try again: the time the admitted uploads take to drain at the recent speed
    /// (whole seconds, 1–120).
    /// </summary>
    public TimeSpan RetryAfter
    {
        get
        {
            var seconds = TimeSpan.FromTicks(Interlocked.Read(ref _averageTicks)).TotalSeconds * Capacity / _permits;
            return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(seconds), 1, 120));
        }
    }

    public void Dispose()
    {
        _admission.Dispose();
        _analysis.Dispose();
    }
}

/// <summary>
/// The upload buffers: one per admitted upload, each <c>maxBytes</c> long, allocated uninitialised (so only the
/// pages an upload actually fills become resident) and kept for reuse, at most <c>capacity</c> of them.
/// </summary>
internal sealed class UploadBuffers(int maxBytes, int capacity)
{
    private readonly ConcurrentBag<byte[]> _free = [];

    public byte[] Rent() => _free.TryTake(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(maxBytes);

    public void Return(byte[] buffer)
    {
        // More than capacity can only be out if admission was bypassed; drop the extra rather than grow.
        if (buffer.Length == maxBytes && _free.Count < capacity)
        {
            _free.Add(buffer);
        }
    }
}
