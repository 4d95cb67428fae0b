using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Catalog;
using Otchatsa.Hosting;

namespace Otchatsa.Web;

/// <summary>Registers the web page's services into an ASP.NET Core application.</summary>
public static class WebServiceCollectionExtensions
{
    /// <summary>Name of the per-client rate-limit policy on the two recommend endpoints.</summary>
    public const string RecommendPolicy = "recommend";

    /// <summary>
    /// Options (<c>Web</c> section, validated at start), the background-loaded engine, the in-memory result and
    /// thumbnail caches, antiforgery and the rate limiter. An <see cref="OtchatsaRuntime"/> or <see cref="WebRuntime"/>
    /// registered before this call is used as is; otherwise the engine's one registration
    /// (<see cref="EngineServiceCollectionExtensions.AddOtchatsaEngine"/>: <c>Otchatsa:IndexPath</c>, <c>Otchatsa:ModelsPath</c>) opens it.
    /// </summary>
    public static IServiceCollection AddOtchatsaWeb(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        AddWebOptions(services);
        AddRuntime(services);
        services.AddHostedService<WebRuntimeStarter>();
        services.TryAddSingleton<ResultStore>();
        services.TryAddSingleton<ThumbnailCache>();
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<WebOptions>>().Value;
            return new AnalysisGate(o.MaxConcurrentAnalyses, o.AnalysisQueue, o.MaxRequestBytes, sp.GetService<TimeProvider>());
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "otchatsa.af";
            o.FormFieldName = "__RequestVerificationToken";
            // The security headers middleware sends the stricter DENY and frame-ancestors 'none' on every response.
            o.SuppressXFrameOptionsHeader = true;
        });
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<WebOptions>>((limiter, web) =>
        {
            var o = web.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(RecommendPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                ClientKey(context),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = o.RecommendPermits, Window = o.RateLimitWindow, QueueLimit = 0 }));
            limiter.OnRejected = (rejected, _) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry.TotalSeconds : o.RateLimitWindow.TotalSeconds;
                rejected.HttpContext.Response.Headers.RetryAfter = Math.Ceiling(seconds).ToString(CultureInfo.InvariantCulture);
                // Like every refusal made before the body is read: answer first, then drop the unread body.
                WebEndpoints.RefuseUnread(rejected.HttpContext, o.MaxRequestBytes);
                return new ValueTask(WebEndpoints.Answer(rejected.HttpContext,
                        Respond.Error(rejected.HttpContext, WebErrorCodes.RateLimited, "Too many photos from this client; wait and retry."))
                    .ExecuteAsync(rejected.HttpContext));
            };
        });
        return services;
    }

    /// <summary>
    /// For a Generic Host worker: when <c>Web:Enabled</c> is true, runs the page as its own Kestrel server on
    /// <c>Web:Urls</c>, started and stopped with the host, sharing the worker's <see cref="OtchatsaRuntime"/>. One line:
    /// <c>builder.Services.AddOtchatsaWebFrontEnd(builder.Configuration);</c>
    /// </summary>
    public static IServiceCollection AddOtchatsaWebFrontEnd(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // A disabled page is not validated either: a worker running chats only never fails over Web:* typos.
        if (!configuration.GetValue<bool>($"{WebOptions.Section}:{nameof(WebOptions.Enabled)}"))
        {
            return services;
        }
        AddWebOptions(services);
        AddRuntime(services);
        // The page logs through the worker's logging: keep ASP.NET Core's per-request lines out of it by default
        // (a more specific Logging:LogLevel entry still overrides this).
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
        services.AddHostedService<WebFrontEndService>();
        return services;
    }

    /// <summary>Security headers, error handling, the rate limiter and every route of the page and its API.</summary>
    public static WebApplication MapOtchatsaWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseRateLimiter();
        WebEndpoints.Map(app);
        return app;
    }

    private static void AddWebOptions(IServiceCollection services)
    {
        services.AddOptions<WebOptions>().BindConfiguration(WebOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebOptions>, WebOptionsValidator>());
    }

    private static void AddRuntime(IServiceCollection services)
    {
        services.AddOtchatsaEngine();
        services.TryAddSingleton(sp => new WebRuntime(
            () => sp.GetRequiredService<OtchatsaRuntime>(),
            sp.GetService<ILogger<WebRuntime>>()));
    }

    /// <summary>The rate-limit partition: the remote address (behind a proxy, configure forwarded headers first).</summary>
    private static string ClientKey(HttpContext context) =>
        context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}

/// <summary>Headers on every response: a strict CSP (no inline script or style), nosniff, no framing, no referrer.</summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next, ILogger<SecurityHeadersMiddleware> logger)
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    public async Task InvokeAsync(HttpContext context)
    {
        SetHeaders(context.Response.Headers);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // A friendly page or the contract's JSON error instead of a bare 500; the details go to the log only.
            logger.LogError(ex, "Web: unhandled error for {Method} {Path}", context.Request.Method, context.Request.Path);
            context.Response.Clear();
            SetHeaders(context.Response.Headers);
            await Respond.Error(context, WebErrorCodes.Internal, "Unexpected server error.").ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    private static void SetHeaders(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // Result ids are capabilities: never leak them to malls through the Referer header.
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "geolocation=(), microphone=(), interest-cohort=()";
    }
}
