using Otchatsa.Discord.Models;

namespace Otchatsa.Discord.Gateway;

/// <summary>
/// Spaces Identify calls: shards share <c>max_concurrency</c> buckets (shard_id % max_concurrency), each allowing
/// one Identify per window (5 s); when the daily budget is used up, waits for it to reset rather than burn the
/// token (exceeding 1000 identifies a day resets it).
/// </summary>
public sealed class IdentifyGate(TimeProvider timeProvider, TimeSpan window)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<int, DateTimeOffset> _lastIdentify = [];

    /// <summary>Waits until shard <paramref name="shardId"/> may identify, then records the identify.</summary>
    public async Task WaitAsync(int shardId, SessionStartLimit limit, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (limit.Remaining <= 0 && limit.ResetAfter > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(limit.ResetAfter), timeProvider, cancellationToken)
                    .ConfigureAwait(false);
            }

            var bucket = shardId % Math.Max(1, limit.MaxConcurrency);
            if (_lastIdentify.TryGetValue(bucket, out var last))
            {
                var wait = last + window - timeProvider.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
                }
            }

            _lastIdentify[bucket] = timeProvider.GetUtcNow();
        }
        finally
        {
            _lock.Release();
        }
    }
}
