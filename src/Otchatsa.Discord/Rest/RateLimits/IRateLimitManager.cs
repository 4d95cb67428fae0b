namespace Otchatsa.Discord.Rest.RateLimits;

/// <summary>Decides when a request may go out and learns from the response headers.</summary>
public interface IRateLimitManager
{
    /// <summary>Waits until <paramref name="route"/> may send; dispose the lease after <see cref="IRateLimitLease.Complete"/>.</summary>
    ValueTask<IRateLimitLease> AcquireAsync(RestRoute route, CancellationToken cancellationToken);
}

/// <summary>Permission to send one request; reports the response back.</summary>
public interface IRateLimitLease : IDisposable
{
    /// <summary>Feeds the response's rate limit headers (and a 429's retry_after) back to the manager.</summary>
    void Complete(RateLimitInfo info);
}

/// <summary>What one response said about rate limits.</summary>
/// <param name="Bucket"><c>X-RateLimit-Bucket</c>.</param>
/// <param name="Remaining"><c>X-RateLimit-Remaining</c>.</param>
/// <param name="ResetAfter"><c>X-RateLimit-Reset-After</c>.</param>
/// <param name="RetryAfter">For a 429: how long to wait (body <c>retry_after</c> or <c>Retry-After</c>).</param>
/// <param name="Global">For a 429: the global limit was hit.</param>
/// <param name="Scope"><c>X-RateLimit-Scope</c> (user, global, shared).</param>
public sealed record RateLimitInfo(
    string? Bucket, int? Remaining, TimeSpan? ResetAfter, TimeSpan? RetryAfter, bool Global, string? Scope)
{
    /// <summary>Reads the headers of a response (the 429 body is parsed by the caller).</summary>
    public static RateLimitInfo FromHeaders(HttpResponseMessage response, TimeSpan? bodyRetryAfter, bool bodyGlobal)
    {
        var h = response.Headers;
        string? Header(string name) => h.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
        static double? Number(string? s) =>
            double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;

        var remaining = Number(Header("X-RateLimit-Remaining"));
        var resetAfter = Number(Header("X-RateLimit-Reset-After"));
        TimeSpan? retryAfter = bodyRetryAfter;
        if (retryAfter is null && (int)response.StatusCode == 429)
        {
            retryAfter = h.RetryAfter?.Delta ?? (Number(Header("Retry-After")) is { } s ? TimeSpan.FromSeconds(s) : null);
        }

        return new RateLimitInfo(
            Header("X-RateLimit-Bucket"),
            remaining is null ? null : (int)remaining,
            resetAfter is null ? null : TimeSpan.FromSeconds(resetAfter.Value),
            retryAfter,
            bodyGlobal || string.Equals(Header("X-RateLimit-Global"), "true", StringComparison.OrdinalIgnoreCase),
            Header("X-RateLimit-Scope"));
    }
}
