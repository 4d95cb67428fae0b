namespace Otchatsa.Discord.Rest.RateLimits;

/// <summary>
/// Per-bucket rate limiting learned from <c>X-RateLimit-*</c> headers, plus the global limit learned from global
/// 429s. Requests of one bucket go out one at a time, so <c>Remaining</c> is never raced; a route is keyed by
/// its template until Discord names its bucket, then by bucket hash and major parameter (channel, guild, webhook).
/// </summary>
public sealed class RateLimitManager(TimeProvider timeProvider) : IRateLimitManager
{
    private const int PruneThreshold = 4096;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, string> _routeToHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private DateTimeOffset _globalResetAt = DateTimeOffset.MinValue;

    /// <summary>Number of buckets currently tracked (for diagnostics and tests).</summary>
    public int BucketCount
    {
        get { lock (_lock) { return _buckets.Count; } }
    }

    /// <inheritdoc />
    public async ValueTask<IRateLimitLease> AcquireAsync(RestRoute route, CancellationToken cancellationToken)
    {
        var bucket = GetBucket(route);
        await bucket.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                var now = timeProvider.GetUtcNow();
                TimeSpan wait;
                lock (_lock)
                {
                    wait = bucket.Remaining == 0 && bucket.ResetAt > now ? bucket.ResetAt - now : TimeSpan.Zero;
                    if (!route.ExemptFromGlobalLimit && _globalResetAt - now > wait)
                    {
                        wait = _globalResetAt - now;
                    }
                }

                if (wait <= TimeSpan.Zero)
                {
                    break;
                }

                await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
            }

            return new Lease(this, route, bucket);
        }
        catch
        {
            bucket.Gate.Release();
            throw;
        }
    }

    private Bucket GetBucket(RestRoute route)
    {
        lock (_lock)
        {
            var key = _routeToHash.TryGetValue(route.RouteKey, out var hash)
                ? $"{hash}:{route.MajorParameter}"
                : $"{route.RouteKey}:{route.MajorParameter}";
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= PruneThreshold)
                {
                    PruneIdle();
                }

                bucket = new Bucket();
                _buckets[key] = bucket;
            }

            return bucket;
        }
    }

    private void Complete(RestRoute route, Bucket acquired, RateLimitInfo info)
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            var bucket = acquired;
            if (info.Bucket is { Length: > 0 } hash)
            {
                _routeToHash[route.RouteKey] = hash;
                var key = $"{hash}:{route.MajorParameter}";
                if (!_buckets.TryGetValue(key, out var shared))
                {
                    // The route's provisional bucket becomes the shared one, so its gate keeps serialising.
                    shared = acquired;
                    _buckets[key] = shared;
                }

                bucket = shared;
            }

            if (info.Remaining is { } remaining)
            {
                bucket.Remaining = remaining;
            }

            if (info.ResetAfter is { } resetAfter)
            {
                bucket.ResetAt = now + resetAfter;
            }

            if (info.RetryAfter is { } retryAfter)
            {
                if (info.Global)
                {
                    var until = now + retryAfter;
                    if (until > _globalResetAt)
                    {
                        _globalResetAt = until;
                    }
                }
                else
                {
                    bucket.Remaining = 0;
                    var until = now + retryAfter;
                    if (until > bucket.ResetAt)
                    {
                        bucket.ResetAt = until;
                    }
                }
            }
        }
    }

    private void PruneIdle()
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (key, bucket) in _buckets.ToArray())
        {
            if (bucket.ResetAt < now && bucket.Gate.CurrentCount == 1)
            {
                _buckets.Remove(key);
            }
        }
    }

    private sealed class Bucket
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>-1 until a response said how many requests are left.</summary>
        public int Remaining { get; set; } = -1;

        public DateTimeOffset ResetAt { get; set; } = DateTimeOffset.MinValue;
    }

    private sealed class Lease(RateLimitManager owner, RestRoute route, Bucket bucket) : IRateLimitLease
    {
        private int _released;

        public void Complete(RateLimitInfo info) => owner.Complete(route, bucket, info);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                bucket.Gate.Release();
            }
        }
    }
}
