using Microsoft.Extensions.Options;

namespace Otchatsa.Web;

/// <summary>The <c>Web</c> configuration section: whether the page runs, where, and its safety limits.</summary>
public sealed class WebOptions
{
    public const string Section = "Web";

    /// <summary>Starts the web front end inside the worker. The standalone <c>otchatsa web</c> verb ignores it.</summary>
    public bool Enabled { get; set; }

    /// <summary>Semicolon-separated listen URLs (Kestrel syntax). Loopback by default: put a TLS proxy in front to publish it.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Largest accepted request body; larger uploads get 413 with the <c>too_large</c> code.</summary>
    public long MaxRequestBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Recommendations one client (remote address) may ask for per <see cref="RateLimitWindow"/>.</summary>
    public int RecommendPermits { get; set; } = 12;

    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Photos analysed at the same time across all clients; the engine is CPU-bound, so more only queue.</summary>
    public int MaxConcurrentAnalyses { get; set; } = 2;

    /// <summary>Requests allowed to wait for an analysis slot before the rest are turned away with 429.</summary>
    public int AnalysisQueue { get; set; } = 8;

    /// <summary>How long a result page (and the photo it shows) stays available; it is only ever held in memory.</summary>
    public TimeSpan ResultLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Memory budget of kept results (display photos are re-encoded JPEGs, typically 100–300 KB each).</summary>
    public long ResultCacheBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Recommendation strategy for the page and the API (<c>blend</c> or <c>seed</c>).</summary>
    public string Strategy { get; set; } = "blend";

    /// <summary>The listen URLs as a list.</summary>
    public IReadOnlyList<string> UrlList =>
        Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Checks <see cref="WebOptions"/> at start, so a typo fails the process instead of the first request.</summary>
public sealed class WebOptionsValidator : IValidateOptions<WebOptions>
{
    public ValidateOptionsResult Validate(string? name, WebOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.UrlList.Count == 0)
        {
            failures.Add("Web:Urls is empty.");
        }
        foreach (var url in options.UrlList)
        {
            // Kestrel also accepts http://*:port and http://+:port; Uri rejects those hosts, so test a stand-in.
            var probe = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(probe, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                failures.Add($"Web:Urls entry '{url}' is not an http(s) URL.");
            }
        }
        if (options.MaxRequestBytes is < 1024 or > 1L << 30)
        {
            failures.Add("Web:MaxRequestBytes must be between 1 KB and 1 GB.");
        }
        if (options.RecommendPermits < 1)
        {
            failures.Add("Web:RecommendPermits must be at least 1.");
        }
        if (options.RateLimitWindow <= TimeSpan.Zero)
        {
            failures.Add("Web:RateLimitWindow must be positive.");
        }
        if (options.MaxConcurrentAnalyses < 1)
        {
            failures.Add("Web:MaxConcurrentAnalyses must be at least 1.");
        }
        if (options.AnalysisQueue < 0)
        {
            failures.Add("Web:AnalysisQueue must not be negative.");
        }
        if (options.ResultLifetime <= TimeSpan.Zero)
        {
            failures.Add("Web:ResultLifetime must be positive.");
        }
        if (options.ResultCacheBytes < 1024 * 1024)
        {
            failures.Add("Web:ResultCacheBytes must be at least 1 MB.");
        }
        try
        {
            _ = Recommending.Strategies.Create(options.Strategy);
        }
        catch (ArgumentException ex)
        {
            failures.Add($"Web:Strategy: {ex.Message}");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
