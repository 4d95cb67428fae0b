namespace Otchatsa.Discord;

/// <summary>
/// The repository's one backoff schedule (gateway reconnects, the Discord REST and Telegram retry pipelines, the
/// Telegram poll loop): exponential with equal jitter — failure n waits between half and all of base·2ⁿ⁻¹, capped
/// at the maximum. A reconnect after a healthy connection (n = 0) waits at most one base delay, so a server that
/// keeps accepting and dropping cannot make a client spin, and clients never retry in lock-step.
/// </summary>
public sealed class Backoff(TimeSpan baseDelay, TimeSpan maxDelay, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    /// <summary>The delay before the attempt that follows <paramref name="consecutiveFailures"/> failures.</summary>
    public TimeSpan Next(int consecutiveFailures)
    {
        if (consecutiveFailures <= 0)
        {
            return baseDelay * _random.NextDouble();
        }

        var exponent = Math.Min(consecutiveFailures - 1, 30);
        var ceiling = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, exponent), maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling / 2 + ceiling / 2 * _random.NextDouble());
    }
}
