namespace Otchatsa.Indexing;

/// <summary>Limits and retry policy for <see cref="CatalogImageFetcher"/>.</summary>
public sealed record CatalogFetchOptions
{
    public static CatalogFetchOptions Default { get; } = new();

    /// <summary>The environment setting that turns on <see cref="AllowPrivateNetworks"/> for <c>otchatsa index build</c>.</summary>
    public const string AllowPrivateNetworksVariable = "OTCHATSA_ALLOW_PRIVATE_NETWORKS";

    /// <summary>Largest image accepted, local or remote (checked before reading where the size is known, and while streaming).</summary>
    public long MaxBytes { get; init; } = 20L * 1024 * 1024;

    /// <summary>Time allowed for one HTTP attempt, headers and body together.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Retries after the first attempt for transient failures (5xx, 408, 429, timeouts, connection errors).</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>First back-off delay; it doubles per retry, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest single wait between attempts. A server asking (Retry-After) for a longer pause than this is not
    /// retried: an index build should not stall on one mall's rate limit.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Allow hosts that resolve to loopback, private, link-local or other non-public addresses. Off by default because
    /// a manifest may come from someone else; tests and intranet catalogs switch it on (<c>index build
    /// --allow-private-networks</c>, or <see cref="AllowPrivateNetworksVariable"/>=1).
    /// </summary>
    public bool AllowPrivateNetworks { get; init; }

    /// <summary>Sent with every request; some CDNs refuse requests without one.</summary>
    public string UserAgent { get; init; } = "Otchatsa/1.0 (catalog indexer)";
}
