using System.Text.Json.Serialization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.Telegram;
using Otchatsa.Catalog;
using Otchatsa.Conversation;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord;
using Otchatsa.Hosting;
using Otchatsa.Web;

namespace Otchatsa.Bot.Hosting;

/// <summary>Section <c>Metrics</c>: the operator endpoint (Prometheus <c>/metrics</c> and <c>/healthz</c>), off by default.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    public bool Enabled { get; set; }

    /// <summary>Where the endpoint listens; loopback by default (put it behind the scraper's network, never the internet).</summary>
    public string Urls { get; set; } = "http://127.0.0.1:9464";
}

/// <summary>What <c>/healthz</c> answers: 200 with status "ok" when the engine is loaded and every enabled front end is connected.</summary>
public sealed record WorkerHealth(
    string Status,
    bool ModelLoaded,
    int IndexItems,
    int QueueDepth,
    int QueueCapacity,
    IReadOnlyDictionary<string, FrontEndHealth> FrontEnds);

/// <summary>One front end in <see cref="WorkerHealth"/>.</summary>
public sealed record FrontEndHealth(bool Connected, string Detail);

/// <summary>Computes <see cref="WorkerHealth"/> from the worker's live parts.</summary>
public sealed class WorkerHealthProbe(IServiceProvider services, TimeProvider time)
{
    public WorkerHealth Check()
    {
        var runtime = services.GetRequiredService<OtchatsaRuntime>();
        var queue = services.GetRequiredService<ChatJobQueue>();
        var frontEnds = new Dictionary<string, FrontEndHealth>(StringComparer.Ordinal);
        if (services.GetService<TelegramPoller>() is { } poller)
        {
            var poll = services.GetRequiredService<IOptions<TelegramOptions>>().Value.PollTimeout;
            var last = poller.LastPoll;
            // A long poll answers at least every PollTimeout; twice that plus a margin without one means trouble.
            var connected = poller.Identity is not null && last is { } at && time.GetUtcNow() - at < poll * 2 + TimeSpan.FromSeconds(30);
            frontEnds["telegram"] = new FrontEndHealth(connected, last is null ? "no successful getUpdates yet" : $"last getUpdates {last:O}");
        }
        if (services.GetService<DiscordBot>() is { } discord)
        {
            var session = discord.Gateway.SessionId is not null;
            frontEnds["discord"] = new FrontEndHealth(session, session ? "gateway session ready" : "no gateway session");
        }
        var modelLoaded = runtime.Engine is not null;
        var ok = modelLoaded && runtime.Index.Items.Count > 0 && frontEnds.Values.All(f => f.Connected);
        return new WorkerHealth(ok ? "ok" : "degraded", modelLoaded, runtime.Index.Items.Count, queue.Queued, queue.Options.Capacity, frontEnds);
    }
}

/// <summary>
/// The operator endpoint: its own small Kestrel server on <c>Metrics:Urls</c> with the OpenTelemetry Prometheus
/// exporter on <c>/metrics</c> (meter <c>Otchatsa</c>: queue, jobs, latencies, retries, rejects) and <c>/healthz</c>.
/// Separate from the web page, so it can listen on an internal address and is up when the page is off.
/// </summary>
internal sealed partial class OperationsEndpointService(
    IOptions<MetricsOptions> options,
    WorkerHealthProbe probe,
    ILoggerFactory loggerFactory,
    ILogger<OperationsEndpointService> logger) : EmbeddedWebApplication(loggerFactory)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    protected override WebApplication Build(Action<WebApplicationBuilder> useWorkerHost)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(options.Value.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        useWorkerHost(builder);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(ChatMetrics.MeterName, RetryMetrics.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", (HttpContext http) =>
        {
            var health = probe.Check();
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(health, Json, statusCode: health.Status == "ok" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }

    protected override void OnListening(string urls) => LogListening(urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Metrics: /metrics and /healthz on {Urls}")]
    private partial void LogListening(string urls);
}
