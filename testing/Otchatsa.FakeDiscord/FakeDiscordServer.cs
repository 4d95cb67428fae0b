using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Otchatsa.FakeDiscord;

/// <summary>
/// A loopback Discord: REST under <c>/api/v10</c>, the gateway on <c>/gateway</c> (READY points resumes to
/// <c>/resume</c>, so they are observable), and a CDN on <c>/cdn</c>. Everything it sees is recorded; tests steer
/// the gateway (dispatch, op 7/9, close codes, drops, withheld ACKs) and inject 429s.
/// </summary>
public sealed partial class FakeDiscordServer : IAsyncDisposable
{
    public const string Token = "fake-bot-token";
    public const string ApplicationId = "100000000000000001";
    public const string BotUserId = "100000000000000002";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<GatewayConnectionRecord> _connections = [];
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<string> _cdnDownloads = [];
    private readonly ConcurrentDictionary<string, (byte[] Bytes, string ContentType)> _cdn = new();
    private readonly List<RateLimitInjection> _injections = [];
    private readonly List<RestFault> _faults = [];
    private readonly List<CreatedMessage> _created = [];
    private readonly Dictionary<(string Channel, string Nonce), (JsonObject Answer, DateTimeOffset At)> _nonces = [];
    private readonly SemaphoreSlim _dispatchGate = new(1, 1);
    private readonly List<(int Sequence, string Frame)> _replay = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _sessionId;
    private int _sequence;
    private Connection? _current;
    private int _messageBucketRemaining = 5;

    private FakeDiscordServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The REST base the client should use.</summary>
    public Uri ApiBaseUrl => new(BaseUrl, "api/v10/");

    /// <summary>
    /// Heartbeat interval announced in Hello: Discord's own 41.25 s by default, so a test that is not about heartbeats
    /// sees none (with a short one, an ACK delayed by a loaded machine is a zombied connection and an extra resume).
    /// </summary>
    public int HeartbeatIntervalMs { get; set; } = 41_250;

    /// <summary>When set, heartbeats are not acknowledged (a zombied connection).</summary>
    public bool WithholdAcks { get; set; }

    /// <summary>When set, Identify is answered by closing with this code (e.g. 4014).</summary>
    public int? CloseOnIdentify { get; set; }

    /// <summary>A session is live (READY or RESUMED sent and not invalidated since).</summary>
    public bool SessionActive { get; private set; }

    /// <summary>A gateway connection with a live session is open (a dispatch now reaches the client's socket).</summary>
    public bool HasLiveConnection
    {
        get { lock (_lock) { return _current is not null && SessionActive; } }
    }

    /// <summary>The current session id.</summary>
    public string? SessionId
    {
        get { lock (_lock) { return _sessionId; } }
    }

    /// <summary>The last sequence number the fake assigned.</summary>
    public int LastSequence
    {
        get { lock (_lock) { return _sequence; } }
    }

    /// <summary>Sessions the fake invalidated (op 9 false, 4007/4009, failed resumes, a client's 1000/1001 close).</summary>
    public int SessionsInvalidated { get; private set; }

    public IReadOnlyList<GatewayConnectionRecord> Connections
    {
        get { lock (_lock) { return _connections.ToArray(); } }
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_lock) { return _requests.ToArray(); } }
    }

    public IReadOnlyList<string> CdnDownloads
    {
        get { lock (_lock) { return _cdnDownloads.ToArray(); } }
    }

    /// <summary>Identify frames over all connections.</summary>
    public int IdentifyCount => Connections.Sum(c => c.Ops(2).Count);

    /// <summary>Resume frames over all connections.</summary>
    public int ResumeCount => Connections.Sum(c => c.Ops(6).Count);

    /// <summary>The clock that stamps <see cref="RecordedRequest.At"/> (the system clock unless a test passes its fake one).</summary>
    public TimeProvider Clock { get; private set; } = TimeProvider.System;

    /// <summary>Starts the fake on a free loopback port; <paramref name="clock"/> stamps the recorded requests.</summary>
    public static async Task<FakeDiscordServer> StartAsync(TimeProvider? clock = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeDiscordServer(app) { Clock = clock ?? TimeProvider.System };
        app.UseWebSockets();
        app.Map("/gateway", fake.AcceptGatewayAsync);
        app.Map("/resume", fake.AcceptGatewayAsync);
        app.Map("/api/v10/{**path}", fake.HandleRestAsync);
        app.MapGet("/cdn/{**path}", fake.HandleCdnAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return fake;
    }

    /// <summary>Serves <paramref name="bytes"/> at <c>/cdn/{name}</c> and returns its URL.</summary>
    public string AddCdnFile(string name, byte[] bytes, string contentType = "image/jpeg")
    {
        _cdn[name] = (bytes, contentType);
        return new Uri(BaseUrl, "cdn/" + name).ToString();
    }

    /// <summary>How long an enforced nonce deduplicates (Discord says "the past few minutes").</summary>
    public static readonly TimeSpan NonceWindow = TimeSpan.FromMinutes(5);

    /// <summary>Messages created by channel-message POSTs, in order (a POST deduplicated by its nonce adds none).</summary>
    public IReadOnlyList<CreatedMessage> CreatedMessages
    {
        get { lock (_lock) { return _created.ToArray(); } }
    }

    /// <summary>Queues a fault for the next matching REST request (see <see cref="RestFault"/>).</summary>
    public void InjectFault(RestFault fault)
    {
        lock (_lock)
        {
            _faults.Add(fault);
        }
    }

    /// <summary>The next request whose path contains the text gets a 429.</summary>
    public void InjectRateLimit(RateLimitInjection injection)
    {
        lock (_lock)
        {
            _injections.Add(injection);
        }
    }

    /// <summary>Waits (without sleeping blindly) until <paramref name="condition"/> holds.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (condition())
            {
                return;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            }

            // Client-side conditions do not signal the fake, so they are re-checked every 50 ms too.
            await Task.WhenAny(changed, Task.Delay(remaining < TimeSpan.FromMilliseconds(50) ? remaining : TimeSpan.FromMilliseconds(50)))
                .ConfigureAwait(false);
        }
    }

    /// <summary>Sends a dispatch on the live session (buffered for resume replay if no connection is live).</summary>
    public async Task<int> DispatchAsync(string type, JsonNode data)
    {
        await _dispatchGate.WaitAsync().ConfigureAwait(false);
        try
        {
            Connection? target;
            int sequence;
            string frame;
            lock (_lock)
            {
                sequence = ++_sequence;
                frame = FakeEvents.Serialize(new JsonObject { ["op"] = 0, ["s"] = sequence, ["t"] = type, ["d"] = data.DeepClone() });
                _replay.Add((sequence, frame));
                target = _current;
            }

            if (target is not null)
            {
                await target.TrySendAsync(frame).ConfigureAwait(false);
            }

            return sequence;
        }
        finally
        {
            _dispatchGate.Release();
        }
    }

    /// <summary>Sends a raw op on the current connection (op 7 Reconnect, op 1 Heartbeat request…).</summary>
    public Task SendOpAsync(int op, JsonNode? data = null)
    {
        var target = CurrentConnection();
        return target?.TrySendAsync(FakeEvents.Serialize(new JsonObject { ["op"] = op, ["d"] = data })) ?? Task.CompletedTask;
    }

    /// <summary>Sends op 9; with <paramref name="resumable"/> false the session is gone.</summary>
    public Task InvalidateSessionAsync(bool resumable)
    {
        if (!resumable)
        {
            ForgetSession();
        }

        return SendOpAsync(9, JsonValue.Create(resumable));
    }

    /// <summary>Closes the current connection from the server side with <paramref name="code"/>.</summary>
    public async Task CloseCurrentAsync(int code, string reason = "fake close")
    {
        if (code is 4007 or 4009)
        {
            ForgetSession();
        }

        var target = CurrentConnection();
        if (target is not null)
        {
            await target.CloseAsync(code, reason).ConfigureAwait(false);
        }
    }

    /// <summary>Drops the current connection's TCP stream without a close frame.</summary>
    public void DropCurrent() => CurrentConnection()?.Socket.Abort();

    private Connection? CurrentConnection()
    {
        lock (_lock)
        {
            return _current;
        }
    }

    private void ForgetSession()
    {
        lock (_lock)
        {
            _sessionId = null;
            _replay.Clear();
            SessionActive = false;
            SessionsInvalidated++;
        }

        Signal();
    }

    private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task AcceptGatewayAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var record = new GatewayConnectionRecord(context.Request.Path, context.Request.QueryString.Value ?? "", DateTimeOffset.UtcNow);
        var connection = new Connection(socket, record);
        lock (_lock)
        {
            _connections.Add(record);
        }

        Signal();
        try
        {
            await connection.TrySendAsync(FakeEvents.Serialize(new JsonObject
            {
                ["op"] = 10,
                ["d"] = new JsonObject { ["heartbeat_interval"] = HeartbeatIntervalMs },
                ["s"] = null,
                ["t"] = null,
            })).ConfigureAwait(false);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    record.ClientCloseCode = (int?)result.CloseStatus;
                    if (result.CloseStatus is WebSocketCloseStatus.NormalClosure or WebSocketCloseStatus.EndpointUnavailable
                        && CurrentConnection() == connection)
                    {
                        // As Discord does: a client closing with 1000 or 1001 ends its session (no resume).
                        ForgetSession();
                    }

                    await connection.CloseAsync((int)(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure), "bye").ConfigureAwait(false);
                    break;
                }

                var frame = JsonNode.Parse(message.ToArray())!;
                record.Add(frame);
                Signal();
                await OnClientFrameAsync(connection, frame).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client dropped the connection.
        }
        finally
        {
            record.Ended = true;
            lock (_lock)
            {
                if (_current == connection)
                {
                    _current = null;
                }
            }

            Signal();
        }
    }

    private async Task OnClientFrameAsync(Connection connection, JsonNode frame)
    {
        var op = (int?)frame["op"];
        var d = frame["d"];
        switch (op)
        {
            case 1:
                if (!WithholdAcks)
                {
                    await connection.TrySendAsync("""{"op":11,"d":null,"s":null,"t":null}""").ConfigureAwait(false);
                }

                break;
            case 2:
                if ((string?)d?["token"] != Token)
                {
                    await connection.CloseAsync(4004, "Authentication failed.").ConfigureAwait(false);
                    return;
                }

                if (CloseOnIdentify is { } code)
                {
                    await connection.CloseAsync(code, "Disallowed intent(s).").ConfigureAwait(false);
                    return;
                }

                await _dispatchGate.WaitAsync().ConfigureAwait(false);
                try
                {
                    string sessionId = Guid.NewGuid().ToString("N");
                    lock (_lock)
                    {
                        _sessionId = sessionId;
                        _sequence = 0;
                        _replay.Clear();
                        _current = connection;
                        SessionActive = true;
                    }

                    var ready = new JsonObject
                    {
                        ["v"] = 10,
                        ["user"] = FakeEvents.User(BotUserId, "otchatsa", bot: true),
                        ["guilds"] = new JsonArray(),
                        ["session_id"] = sessionId,
                        ["resume_gateway_url"] = $"ws://{BaseUrl.Authority}/resume",
                        ["application"] = new JsonObject { ["id"] = ApplicationId, ["flags"] = 0 },
                    };
                    int sequence;
                    lock (_lock)
                    {
                        sequence = ++_sequence;
                    }

                    await connection.TrySendAsync(FakeEvents.Serialize(new JsonObject
                    {
                        ["op"] = 0, ["s"] = sequence, ["t"] = "READY", ["d"] = ready,
                    })).ConfigureAwait(false);
                }
                finally
                {
                    _dispatchGate.Release();
                }

                Signal();
                break;
            case 6:
                await _dispatchGate.WaitAsync().ConfigureAwait(false);
                try
                {
                    var sessionId = (string?)d?["session_id"];
                    var seq = (int?)d?["seq"] ?? 0;
                    List<string> replay;
                    bool valid;
                    lock (_lock)
                    {
                        valid = _sessionId is not null && sessionId == _sessionId && seq <= _sequence && (string?)d?["token"] == Token;
                        replay = valid ? _replay.Where(e => e.Sequence > seq).Select(e => e.Frame).ToList() : [];
                        if (valid)
                        {
                            _current = connection;
                        }
                    }

                    if (!valid)
                    {
                        ForgetSession();
                        await connection.TrySendAsync("""{"op":9,"d":false,"s":null,"t":null}""").ConfigureAwait(false);
                        return;
                    }

                    foreach (var replayed in replay)
                    {
                        await connection.TrySendAsync(replayed).ConfigureAwait(false);
                    }

                    int resumedSeq;
                    lock (_lock)
                    {
                        resumedSeq = ++_sequence;
                        SessionActive = true;
                    }

                    await connection.TrySendAsync($$$"""{"op":0,"s":{{{resumedSeq}}},"t":"RESUMED","d":{}}""").ConfigureAwait(false);
                }
                finally
                {
                    _dispatchGate.Release();
                }

                Signal();
                break;
        }
    }

    private async Task HandleRestAsync(HttpContext context)
    {
        var request = context.Request;
        var path = ((string?)context.Request.RouteValues["path"]) ?? "";
        var pathAndQuery = path + request.QueryString;
        JsonNode? json = null;
        var files = new List<RecordedFile>();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync().ConfigureAwait(false);
            json = form.TryGetValue("payload_json", out var payload) ? JsonNode.Parse(payload.ToString()) : null;
            files.AddRange(form.Files.Select(f => new RecordedFile(f.Name, f.FileName, f.ContentType, f.Length)));
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync().ConfigureAwait(false);
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }

        RestFault? fault;
        lock (_lock)
        {
            fault = _faults.FirstOrDefault(f => path.Contains(f.PathContains, StringComparison.Ordinal));
            if (fault is not null)
            {
                _faults.Remove(fault);
            }
        }

        var (status, body) = fault is { AfterCreate: false }
            ? (0, null)
            : Route(request.Method, path, request.Headers.Authorization.ToString(), json, context.Response);
        if (fault is not null)
        {
            status = fault.Kind == RestFaultKind.Status ? fault.Status : 0;
            body = fault.Kind == RestFaultKind.Status ? new JsonObject { ["message"] = "Injected failure", ["code"] = 0 } : null;
        }

        lock (_lock)
        {
            _requests.Add(new RecordedRequest(request.Method, pathAndQuery, request.Headers.Authorization.ToString(),
                request.Headers.UserAgent.ToString(), request.ContentType, json, files, Clock.GetUtcNow(), status));
        }

        Signal();
        switch (fault?.Kind)
        {
            case RestFaultKind.Reset:
                context.Abort();
                return;
            case RestFaultKind.Hang:
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up.
                }

                return;
        }

        context.Response.StatusCode = status;
        if (body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(FakeEvents.Serialize(body)).ConfigureAwait(false);
        }
    }

    private (int Status, JsonNode? Body) Route(string method, string path, string authorization, JsonNode? json, HttpResponse response)
    {
        if (authorization != "Bot " + Token)
        {
            return (401, new JsonObject { ["message"] = "401: Unauthorized", ["code"] = 0 });
        }

        RateLimitInjection? injection;
        lock (_lock)
        {
            injection = _injections.FirstOrDefault(i => path.Contains(i.PathContains, StringComparison.Ordinal));
            if (injection is not null)
            {
                _injections.Remove(injection);
            }
        }

        if (injection is not null)
        {
            var seconds = injection.RetryAfter.TotalSeconds;
            response.Headers["Retry-After"] = Math.Ceiling(seconds).ToString(CultureInfo.InvariantCulture);
            response.Headers["X-RateLimit-Scope"] = injection.Global ? "global" : "user";
            if (injection.Global)
            {
                response.Headers["X-RateLimit-Global"] = "true";
            }
            else
            {
                response.Headers["X-RateLimit-Bucket"] = "fakebucket";
                response.Headers["X-RateLimit-Remaining"] = "0";
                response.Headers["X-RateLimit-Reset-After"] = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return (429, injection.BodyRetryAfter
                ? new JsonObject { ["message"] = "You are being rate limited.", ["retry_after"] = seconds, ["global"] = injection.Global }
                : null);
        }

        if (method == "GET" && path == "gateway/bot")
        {
            return (200, new JsonObject
            {
                ["url"] = $"ws://{BaseUrl.Authority}/gateway",
                ["shards"] = 1,
                ["session_start_limit"] = new JsonObject
                {
                    ["total"] = 1000, ["remaining"] = 999, ["reset_after"] = 14_400_000, ["max_concurrency"] = 1,
                },
            });
        }

        if (method == "GET" && path == "applications/@me")
        {
            return (200, new JsonObject { ["id"] = ApplicationId, ["name"] = "Otchatsa", ["bot"] = FakeEvents.User(BotUserId, "otchatsa", true) });
        }

        if (method == "PUT" && CommandsRoute().IsMatch(path))
        {
            var answer = new JsonArray();
            foreach (var command in json?.AsArray() ?? [])
            {
                var copy = command!.DeepClone().AsObject();
                copy["id"] = FakeEvents.NextId();
                copy["application_id"] = ApplicationId;
                copy["type"] ??= 1;
                answer.Add(copy);
            }

            return (200, answer);
        }

        if (method == "POST" && ChannelMessagesRoute().Match(path) is { Success: true } channel)
        {
            var remaining = Interlocked.Decrement(ref _messageBucketRemaining);
            if (remaining <= 0)
            {
                Interlocked.Exchange(ref _messageBucketRemaining, 5);
            }

            response.Headers["X-RateLimit-Limit"] = "5";
            response.Headers["X-RateLimit-Remaining"] = Math.Max(remaining, 0).ToString(CultureInfo.InvariantCulture);
            response.Headers["X-RateLimit-Reset-After"] = remaining <= 0 ? "0.05" : "1";
            response.Headers["X-RateLimit-Bucket"] = "channelmessages";
            return (200, CreateMessage(channel.Groups[1].Value, json));
        }

        if (method == "POST" && CallbackRoute().IsMatch(path))
        {
            return (204, null);
        }

        if (method == "PATCH" && OriginalRoute().IsMatch(path))
        {
            return (200, MessageAnswer("500000000000000001", json));
        }

        if (method == "POST" && FollowupRoute().IsMatch(path))
        {
            return (200, MessageAnswer("500000000000000001", json));
        }

        return (404, new JsonObject { ["message"] = "404: Not Found", ["code"] = 0 });
    }

    /// <summary>Creates a message, or with <c>enforce_nonce</c> returns the one this nonce created within the window.</summary>
    private JsonObject CreateMessage(string channelId, JsonNode? json)
    {
        var nonce = json?["nonce"] is JsonValue n ? (n.TryGetValue<string>(out var text) ? text : n.ToJsonString()) : null;
        var enforce = json?["enforce_nonce"] is JsonValue e && e.TryGetValue<bool>(out var flag) && flag;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            if (enforce && nonce is not null && _nonces.TryGetValue((channelId, nonce), out var earlier) && now - earlier.At < NonceWindow)
            {
                return (JsonObject)earlier.Answer.DeepClone();
            }

            var answer = MessageAnswer(channelId, json);
            _created.Add(new CreatedMessage((string)answer["id"]!, channelId, (string?)json?["message_reference"]?["message_id"], nonce, json?.DeepClone()));
            if (nonce is not null)
            {
                _nonces[(channelId, nonce)] = (answer, now);
            }

            return (JsonObject)answer.DeepClone();
        }
    }

    private static JsonObject MessageAnswer(string channelId, JsonNode? json) => new()
    {
        ["id"] = FakeEvents.NextId(),
        ["channel_id"] = channelId,
        ["author"] = FakeEvents.User(BotUserId, "otchatsa", true),
        ["content"] = (string?)json?["content"] ?? "",
        ["mentions"] = new JsonArray(),
        ["attachments"] = new JsonArray(),
    };

    private async Task HandleCdnAsync(HttpContext context)
    {
        var path = (string?)context.Request.RouteValues["path"] ?? "";
        lock (_lock)
        {
            _cdnDownloads.Add(path);
        }

        Signal();
        if (!_cdn.TryGetValue(path, out var file))
        {
            context.Response.StatusCode = 404;
            return;
        }

        context.Response.ContentType = file.ContentType;
        context.Response.ContentLength = file.Bytes.Length;
        await context.Response.Body.WriteAsync(file.Bytes).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Connection? current;
        lock (_lock)
        {
            current = _current;
        }

        current?.Socket.Abort();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    [GeneratedRegex(@"^applications/\d+(/guilds/\d+)?/commands$")]
    private static partial Regex CommandsRoute();

    [GeneratedRegex(@"^channels/(\d+)/messages$")]
    private static partial Regex ChannelMessagesRoute();

    [GeneratedRegex(@"^interactions/\d+/[^/]+/callback$")]
    private static partial Regex CallbackRoute();

    [GeneratedRegex(@"^webhooks/\d+/[^/]+/messages/@original$")]
    private static partial Regex OriginalRoute();

    [GeneratedRegex(@"^webhooks/\d+/[^/]+$")]
    private static partial Regex FollowupRoute();

    private sealed class Connection(WebSocket socket, GatewayConnectionRecord record)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public WebSocket Socket { get; } = socket;
        public GatewayConnectionRecord Record { get; } = record;

        public async Task TrySendAsync(string frame)
        {
            await _send.WaitAsync().ConfigureAwait(false);
            try
            {
                if (Socket.State == WebSocketState.Open)
                {
                    await Socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None)
                        .ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
            {
                // The client went away; the dispatch stays in the replay buffer.
            }
            finally
            {
                _send.Release();
            }
        }

        public async Task CloseAsync(int code, string reason)
        {
            await _send.WaitAsync().ConfigureAwait(false);
            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await Socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException)
            {
                // Already gone.
            }
            finally
            {
                _send.Release();
            }
        }
    }
}
