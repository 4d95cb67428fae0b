namespace Otchatsa.Discord.Gateway;

/// <summary>
/// Exponential backoff with equal jitter: failure n waits between half and all of base·2ⁿ⁻¹ (capped). A
/// reconnect after a healthy connection (n = 0) waits at most one base delay, so a server that keeps
/// accepting and dropping cannot make the client spin.
/// </summary>
public sealed class ReconnectBackoff(TimeSpan baseDelay, TimeSpan maxDelay, Random random)
{
    /// <summary>The delay before the reconnect that follows <paramref name="consecutiveFailures"/> failures.</summary>
    public TimeSpan Next(int consecutiveFailures)
    {
        if (consecutiveFailures <= 0)
        {
            return baseDelay * random.NextDouble();
        }

        var exponent = Math.Min(consecutiveFailures - 1, 30);
        var ceiling = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, exponent), maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling / 2 + ceiling / 2 * random.NextDouble());
    }
}
