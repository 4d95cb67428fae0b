using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest.RateLimits;

namespace Otchatsa.Discord.Rest;

/// <summary>
/// The REST calls the bot makes. Every request passes the rate limit manager; 429s are waited out and retried,
/// 502/503/504 are retried with backoff. Logs name route templates only, so ids and interaction tokens stay out.
/// </summary>
public sealed partial class DiscordRestClient
{
    private const int MaxRateLimitRetries = 5;
    private const int MaxServerErrorRetries = 3;

    private readonly DiscordClientOptions _options;
    private readonly IRestRequestHandler _handler;
    private readonly IRateLimitManager _rateLimits;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Uri _baseUrl;
    private readonly AuthenticationHeaderValue _authorization;

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

    /// <summary><c>POST /channels/{id}/messages</c>, multipart when <paramref name="files"/> are given.</summary>
    public Task<DiscordMessage> CreateMessageAsync(
        string channelId, MessageProperties message, IReadOnlyList<RestFile>? files, CancellationToken cancellationToken)
    {
        CheckUploads(files);
        var route = new RestRoute(HttpMethod.Post, "channels/{channel_id}/messages",
            $"channels/{Escape(channelId)}/messages", channelId);
        return SendAsync<DiscordMessage>(route, () => Body(message, files), cancellationToken);
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

    private async Task<T> SendAsync<T>(RestRoute route, Func<HttpContent>? content, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(route, content, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync<T>(stream, DiscordJson.Options, cancellationToken)
                       .ConfigureAwait(false)
                   ?? throw new DiscordRestException((int)response.StatusCode, null, route.Template, "empty body");
        }
    }

    private async Task<HttpResponseMessage> SendRawAsync(
        RestRoute route, Func<HttpContent>? content, CancellationToken cancellationToken)
    {
        var rateLimited = 0;
        var serverErrors = 0;
        while (true)
        {
            HttpResponseMessage response;
            using (var lease = await _rateLimits.AcquireAsync(route, cancellationToken).ConfigureAwait(false))
            {
                using var request = new HttpRequestMessage(route.Method, new Uri(_baseUrl, route.Path));
                request.Headers.Authorization = _authorization;
                request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
                request.Content = content?.Invoke();
                response = await _handler.SendAsync(request, cancellationToken).ConfigureAwait(false);

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

            if (response.StatusCode == HttpStatusCode.TooManyRequests && rateLimited++ < MaxRateLimitRetries)
            {
                var info = RateLimitInfo.FromHeaders(response, null, false);
                LogRateLimited(_logger, route.Template, info.RetryAfter?.TotalMilliseconds ?? 0, info.Scope ?? "bucket");
                response.Dispose();
                continue; // the manager now holds the bucket (or global) until retry_after has passed
            }

            if ((int)response.StatusCode is 502 or 503 or 504 && serverErrors++ < MaxServerErrorRetries)
            {
                LogServerError(_logger, route.Template, (int)response.StatusCode);
                response.Dispose();
                var delay = TimeSpan.FromMilliseconds(500 * Math.Pow(2, serverErrors - 1) * (0.5 + Random.Shared.NextDouble() / 2));
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using (response)
            {
                throw await ToExceptionAsync(route, response, cancellationToken).ConfigureAwait(false);
            }
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord REST {Route} rate limited for {RetryAfterMs} ms (scope {Scope}); retrying")]
    private static partial void LogRateLimited(ILogger logger, string route, double retryAfterMs, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord REST {Route} answered {Status}; retrying")]
    private static partial void LogServerError(ILogger logger, string route, int status);
}
