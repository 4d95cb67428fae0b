using System.Collections.Concurrent;

namespace Otchatsa.Conversation;

/// <summary>Token buckets per user and per chat: a burst, then one photo per refill interval.</summary>
public sealed record RateLimitOptions
{
    public int UserBurst { get; init; } = 5;
    public TimeSpan UserRefill { get; init; } = TimeSpan.FromSeconds(12);
    public int ChatBurst { get; init; } = 20;
    public TimeSpan ChatRefill { get; init; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// Per-user and per-chat rate limits for photo analysis. A request takes one token from both buckets or from neither;
/// when refused, <c>retryAfter</c> says when the emptier bucket has a token again ("busy, try again in N s").
/// </summary>
public sealed class ChatRateLimiter(RateLimitOptions options, TimeProvider time)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public RateLimitOptions Options { get; } = options;

    public bool TryAcquire(string userKey, string chatKey, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            var user = Get("u:" + userKey, Options.UserBurst, Options.UserRefill, now);
            var chat = Get("c:" + chatKey, Options.ChatBurst, Options.ChatRefill, now);
            if (user.Tokens >= 1 && chat.Tokens >= 1)
            {
                user.Tokens--;
                chat.Tokens--;
                retryAfter = TimeSpan.Zero;
                if (_buckets.Count > PruneAbove)
                {
                    Prune(now);
                }
                return true;
            }
            retryAfter = Max(user.TimeToToken(), chat.TimeToToken());
            return false;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private Bucket Get(string key, int burst, TimeSpan refill, long now)
    {
        var bucket = _buckets.GetOrAdd(key, _ => new Bucket(burst, refill, now));
        bucket.Refill(time, now);
        return bucket;
    }

    private void Prune(long now)
    {
        foreach (var (key, bucket) in _buckets)
        {
            bucket.Refill(time, now);
            if (bucket.Tokens >= bucket.Burst)
            {
                _buckets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Bucket(int burst, TimeSpan refill, long now)
    {
        private long _stamp = now;

        public int Burst { get; } = burst;
        public double Tokens { get; set; } = burst;

        public void Refill(TimeProvider time, long now)
        {
            var elapsed = time.GetElapsedTime(_stamp, now);
            _stamp = now;
            Tokens = Math.Min(Burst, Tokens + elapsed / refill);
        }

        public TimeSpan TimeToToken() => Tokens >= 1 ? TimeSpan.Zero : refill * (1 - Tokens);
    }
}
