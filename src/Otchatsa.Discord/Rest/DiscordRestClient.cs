using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest.RateLimits;
using Polly;
using Polly.Retry;

namespace Otchatsa.Discord.Rest;

/// <summary>
/// The REST calls the bot makes. Every request passes the rate limit manager and one retry pipeline (see
/// <see cref="BuildPipeline"/>): 429s are waited out and retried; other failures only where repeating the request
/// cannot create a second effect. Logs name route templates only, so ids and interaction tokens stay out.
/// </summary>
public sealed partial class DiscordRestClient
{
    private static readonly ResiliencePropertyKey<RestRoute> RouteKey = new("discord.route");
    private static readonly ResiliencePropertyKey<bool> IdempotentKey = new("discord.idempotent");

    private readonly DiscordClientOptions _options;
    private readonly IRestRequestHandler _handler;
    private readonly IRateLimitManager _rateLimits;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Uri _baseUrl;
    private readonly AuthenticationHeaderValue _authorization;
    private readonly Backoff _backoff;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ResiliencePipeline _attemptTimeout;

    /// <summary>Creates the client.</summary>
    public DiscordRestClient(
        DiscordClientOptions options,
        IRestRequestHandler handler,
        IRateLimitManager rateLimits,
        TimeProvider timeProvider,
        ILogger<DiscordRestClient> logger)
    {
        _options = options;
        _handler = handler;
        _rateLimits = rateLimits;
        _timeProvider = timeProvider;
        _logger = logger;
        var baseText = options.ApiBaseUrl.ToString();
        _baseUrl = new Uri(baseText.EndsWith('/') ? baseText : baseText + "/");
        _authorization = new AuthenticationHeaderValue("Bot", options.BotToken);
        _backoff = new Backoff(options.RetryBaseDelay, TimeSpan.FromSeconds(30));
        _pipeline = BuildPipeline();
        _attemptTimeout = new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(options.RequestTimeout).Build();
    }

    /// <summary>User-Agent in the form Discord requires.</summary>
    public static string UserAgent => "DiscordBot (https://github.com/otchatsa/otchatsa, 1.0)";

    /// <summary><c>GET /gateway/bot</c>: gateway URL and session start limits.</summary>
    public Task<GatewayBotInfo> GetGatewayBotAsync(CancellationToken cancellationToken) =>
        SendAsync<GatewayBotInfo>(new RestRoute(HttpMethod.Get, "gateway/bot", "gateway/bot"), null, cancellationToken);

    /// <summary><c>GET /applications/@me</c>: the application id and bot user.</summary>
    public Task<PartialApplication> GetCurrentApplicationAsync(CancellationToken cancellationToken) =>
        SendAsync<PartialApplication>(
            new RestRoute(HttpMethod.Get, "applications/@me", "applications/@me"), null, cancellationToken);

    /// <summary>Replaces all commands of the application, globally or in one guild.</summary>
    public Task<IReadOnlyList<ApplicationCommand>> BulkOverwriteApplicationCommandsAsync(
        string applicationId,
        IReadOnlyList<ApplicationCommandProperties> commands,
        string? guildId,
        CancellationToken cancellationToken)
    {
        var route = guildId is null
            ? new RestRoute(HttpMethod.Put, "applications/{application_id}/commands",
                $"applications/{Escape(applicationId)}/commands")
            : new RestRoute(HttpMethod.Put, "applications/{application_id}/guilds/{guild_id}/commands",
                $"applications/{Escape(applicationId)}/guilds/{Escape(guildId)}/commands", guildId);
        return SendAsync<IReadOnlyList<ApplicationCommand>>(route, () => JsonContent(commands), cancellationToken);
    }

    /// <summary>
    /// <c>POST /channels/{id}/messages</c>, multipart when <paramref name="files"/> are given. With a nonce and
    /// <c>enforce_nonce</c> the POST is idempotent and retried after any transient failure; without, only when the
    /// failure proves it was not delivered.
    /// </summary>
    public Task<DiscordMessage> CreateMessageAsync(
        string channelId, MessageProperties message, IReadOnlyList<RestFile>? files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckUploads(files);
        var route = new RestRoute(HttpMethod.Post, "channels/{channel_id}/messages",
            $"channels/{Escape(channelId)}/messages", channelId);
        return SendAsync<DiscordMessage>(route, () => Body(message, files), cancellationToken,
            idempotent: message is { Nonce.Length: > 0, EnforceNonce: true });
    }

    /// <summary><c>POST /interactions/{id}/{token}/callback</c>: must happen within 3 s of the interaction.</summary>
    public async Task CreateInteractionResponseAsync(
        string interactionId,
        string interactionToken,
        InteractionResponse response,
        IReadOnlyList<RestFile>? files,
        CancellationToken cancellationToken)
    {
        CheckUploads(files);
        var route = new RestRoute(HttpMethod.Post, "interactions/{interaction_id}/{interaction_token}/callback",
            $"interactions/{Escape(interactionId)}/{Escape(interactionToken)}/callback", interactionId,
            ExemptFromGlobalLimit: true);
        using var _ = await SendRawAsync(route, () => Body(response, files), cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>PATCH /webhooks/{app}/{token}/messages/@original</c>: completes a deferred interaction.</summary>
    public Task<DiscordMessage> EditOriginalInteractionResponseAsync(
        string applicationId,
        string interactionToken,
        MessageProperties message,
        IReadOnlyList<RestFile>? files,
        CancellationToken cancellationToken)
    {
        CheckUploads(files);
        var route = new RestRoute(HttpMethod.Patch, "webhooks/{application_id}/{interaction_token}/messages/@original",
            $"webhooks/{Escape(applicationId)}/{Escape(interactionToken)}/messages/@original",
            interactionToken, ExemptFromGlobalLimit: true);
        return SendAsync<DiscordMessage>(route, () => Body(message, files), cancellationToken);
    }

    /// <summary><c>POST /webhooks/{app}/{token}</c>: a follow-up message to an interaction.</summary>
    public Task<DiscordMessage> CreateFollowupMessageAsync(
        string applicationId,
        string interactionToken,
        MessageProperties message,
        IReadOnlyList<RestFile>? files,
        CancellationToken cancellationToken)
    {
        CheckUploads(files);
        var route = new RestRoute(HttpMethod.Post, "webhooks/{application_id}/{interaction_token}",
            $"webhooks/{Escape(applicationId)}/{Escape(interactionToken)}?wait=true", interactionToken,
            ExemptFromGlobalLimit: true);
        return SendAsync<DiscordMessage>(route, () => Body(message, files), cancellationToken);
    }

    private async Task<T> SendAsync<T>(RestRoute route, Func<HttpContent>? content, CancellationToken cancellationToken, bool idempotent = false)
    {
        using var response = await SendRawAsync(route, content, cancellationToken, idempotent).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync<T>(stream, DiscordJson.Options, cancellationToken)
                       .ConfigureAwait(false)
                   ?? throw new DiscordRestException((int)response.StatusCode, null, route.Template, "empty body");
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(
        RestRoute route, Func<HttpContent>? content, CancellationToken cancellationToken, bool idempotent = false)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(RouteKey, route);
            context.Properties.Set(IdempotentKey, idempotent || route.Method != HttpMethod.Post);
            return await _pipeline.ExecuteAsync(
                static (ctx, state) => state.Self.AttemptAsync(state.Route, state.Content, ctx.CancellationToken),
                context, (Self: this, Route: route, Content: content)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<HttpResponseMessage> AttemptAsync(
        RestRoute route, Func<HttpContent>? content, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        using (var lease = await _rateLimits.AcquireAsync(route, cancellationToken).ConfigureAwait(false))
        {
            using var request = new HttpRequestMessage(route.Method, new Uri(_baseUrl, route.Path));
            request.Headers.Authorization = _authorization;
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
            request.Content = content?.Invoke();
            // Only the HTTP exchange is timed: waiting for a rate-limit bucket is not a failure.
            response = await _attemptTimeout.ExecuteAsync(
                static (state, ct) => new ValueTask<HttpResponseMessage>(state.Handler.SendAsync(state.Request, ct)),
                (Handler: _handler, Request: request), cancellationToken).ConfigureAwait(false);

            TimeSpan? bodyRetryAfter = null;
            var bodyGlobal = false;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                (bodyRetryAfter, bodyGlobal) = await ReadRetryAfterAsync(response, cancellationToken)
                    .ConfigureAwait(false);
            }

            lease.Complete(RateLimitInfo.FromHeaders(response, bodyRetryAfter, bodyGlobal));
        }

        if (response.IsSuccessStatusCode)
        {
            LogRequest(_logger, route.Template, (int)response.StatusCode);
            return response;
        }

        using (response)
        {
            throw await ToExceptionAsync(route, response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The one retry layer of Discord REST calls. A 429 is always retried (Discord did not act on it; the rate limit
    /// manager now holds the bucket until retry_after), and so is a request that provably never reached Discord.
    /// 5xx, resets and timeouts are retried only for idempotent requests (GET, PUT, PATCH, a message POST with an
    /// enforced nonce): the job queue above never retries a send again.
    /// </summary>
    private ResiliencePipeline<HttpResponseMessage> BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _timeProvider };
        if (_options.MaxRetries <= 0)
        {
            return builder.Build();
        }
        return builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
        {
            MaxRetryAttempts = _options.MaxRetries,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && ShouldRetry(ex, args.Context)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                args.Outcome.Exception is DiscordRestException { StatusCode: 429 } ? TimeSpan.Zero : _backoff.Next(args.AttemptNumber + 1)),
            OnRetry = args =>
            {
                var route = args.Context.Properties.GetValue(RouteKey, null!);
                var reason = SendFailures.Reason(args.Outcome.Exception!);
                LogRetry(_logger, route.Template, reason, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds);
                RetryMetrics.Record("discord", route.Template, reason);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    private static bool ShouldRetry(Exception exception, ResilienceContext context)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
        if (exception is DiscordRestException { StatusCode: 429 } || SendFailures.ProvesNotSent(exception))
        {
            return true;
        }
        var idempotent = context.Properties.GetValue(IdempotentKey, false);
        return idempotent && (exception is DiscordRestException { StatusCode: 500 or 502 or 503 or 504 } || SendFailures.IsTransport(exception));
    }

    private static async Task<(TimeSpan?, bool)> ReadRetryAfterAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (bytes.Length == 0)
            {
                return (null, false);
            }

            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            TimeSpan? retry = root.TryGetProperty("retry_after", out var r) && r.ValueKind == JsonValueKind.Number
                ? TimeSpan.FromSeconds(r.GetDouble())
                : null;
            var global = root.TryGetProperty("global", out var g) && g.ValueKind == JsonValueKind.True;
            return (retry, global);
        }
        catch (JsonException)
        {
            // Cloudflare's 429 (an IP ban) is HTML; the Retry-After header still applies.
            return (null, false);
        }
    }

    private static async Task<DiscordRestException> ToExceptionAsync(
        RestRoute route, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        int? code = null;
        string? message = null;
        try
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (bytes.Length > 0)
            {
                using var doc = JsonDocument.Parse(bytes);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number)
                    {
                        code = c.GetInt32();
                    }

                    if (doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        message = m.GetString();
                    }
                }
            }
        }
        catch (JsonException)
        {
            message = "non-JSON error body";
        }

        return new DiscordRestException((int)response.StatusCode, code, route.Template, message);
    }

    private void CheckUploads(IReadOnlyList<RestFile>? files)
    {
        if (files is null || files.Count == 0)
        {
            return;
        }

        if (files.Count > 10)
        {
            throw new DiscordUploadTooLargeException($"{files.Count} files in one message; Discord allows 10.");
        }

        long total = 0;
        foreach (var file in files)
        {
            if (file.Content.Length > _options.MaxUploadFileBytes)
            {
                throw new DiscordUploadTooLargeException(
                    $"File '{file.FileName}' has {file.Content.Length} bytes; the limit is {_options.MaxUploadFileBytes}.");
            }

            total += file.Content.Length;
        }

        if (total > _options.MaxUploadRequestBytes)
        {
            throw new DiscordUploadTooLargeException(
                $"Upload of {total} bytes exceeds the request limit of {_options.MaxUploadRequestBytes}.");
        }
    }

    private static HttpContent Body<T>(T payload, IReadOnlyList<RestFile>? files)
    {
        if (files is null || files.Count == 0)
        {
            return JsonContent(payload);
        }

        var multipart = new MultipartFormDataContent();
        multipart.Add(JsonContent(payload), "payload_json");
        for (var i = 0; i < files.Count; i++)
        {
            var part = new ReadOnlyMemoryContent(files[i].Content);
            part.Headers.ContentType = new MediaTypeHeaderValue(files[i].ContentType);
            multipart.Add(part, $"files[{i}]", files[i].FileName);
        }

        return multipart;
    }

    private static ByteArrayContent JsonContent<T>(T payload)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(payload, DiscordJson.Options));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Discord REST {Route} → {Status}")]
    private static partial void LogRequest(ILogger logger, string route, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord REST {Route} failed ({Reason}); retry {Retry} in {DelayMs:F0} ms")]
    private static partial void LogRetry(ILogger logger, string route, string reason, int retry, double delayMs);
}
