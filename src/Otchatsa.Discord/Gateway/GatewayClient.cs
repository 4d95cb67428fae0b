using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Gateway.WebSockets;
using Otchatsa.Discord.Models;

namespace Otchatsa.Discord.Gateway;

/// <summary>
/// One gateway shard: connects, heartbeats, identifies or resumes, hands dispatches to a handler, and reconnects
/// by Discord's rules until cancelled or a fatal close code arrives.
/// </summary>
public sealed partial class GatewayClient
{
    /// <summary>
    /// Close code the client uses when it wants to resume, and when it stops: anything but 1000/1001 keeps the
    /// session (Discord times it out a few minutes later), so a restarted worker resumes it.
    /// </summary>
    public const int ResumableCloseCode = 4000;

    private const int ResumeFailuresBeforeNewSession = 3;

    private readonly DiscordClientOptions _options;
    private readonly Func<CancellationToken, Task<GatewayBotInfo>> _gatewayInfo;
    private readonly IWebSocketConnectionProvider _connections;
    private readonly IGatewayDispatchHandler _handler;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly Backoff _backoff;
    private readonly IdentifyGate _identifyGate;

    private string? _sessionId;
    private Uri? _resumeUrl;
    private int _sequenceValue = -1;

    private int _connectionCount, _identifies, _resumes, _ready, _resumed, _zombies, _reconnectRequests,
        _invalidSessions, _sessionsLost, _heartbeats;

    /// <summary>Creates the client; <paramref name="gatewayInfo"/> is usually <c>GET /gateway/bot</c>.</summary>
    public GatewayClient(
        DiscordClientOptions options,
        Func<CancellationToken, Task<GatewayBotInfo>> gatewayInfo,
        IWebSocketConnectionProvider connections,
        IGatewayDispatchHandler handler,
        TimeProvider timeProvider,
        ILogger<GatewayClient> logger,
        Random? random = null)
    {
        _options = options;
        _gatewayInfo = gatewayInfo;
        _connections = connections;
        _handler = handler;
        _timeProvider = timeProvider;
        _logger = logger;
        _random = random ?? Random.Shared;
        _backoff = new Backoff(options.Gateway.ReconnectBaseDelay, options.Gateway.ReconnectMaxDelay, _random);
        _identifyGate = new IdentifyGate(timeProvider, options.Gateway.IdentifyWindow);
    }

    /// <summary>The current session id, null before READY or after the session was lost.</summary>
    public string? SessionId => Volatile.Read(ref _sessionId);

    /// <summary>Where this session resumes (READY's <c>resume_gateway_url</c> with the query), null without a session.</summary>
    public Uri? ResumeGatewayUrl => Volatile.Read(ref _resumeUrl);

    /// <summary>
    /// Starts the next <see cref="RunAsync"/> by resuming a session a previous process saved (op 6 with
    /// <paramref name="sequence"/> on <paramref name="resumeGatewayUrl"/>) instead of identifying; Discord replays the
    /// dispatches after <paramref name="sequence"/>. If Discord answers op 9 d:false the client identifies as usual.
    /// Call before <see cref="RunAsync"/>.
    /// </summary>
    public void RestoreSession(string sessionId, Uri resumeGatewayUrl, int sequence)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        ArgumentNullException.ThrowIfNull(resumeGatewayUrl);
        Volatile.Write(ref _sessionId, sessionId);
        Volatile.Write(ref _resumeUrl, resumeGatewayUrl);
        _sequence = sequence;
    }

    /// <summary>The last sequence number received.</summary>
    public int? Sequence => Volatile.Read(ref _sequenceValue) is var s and >= 0 ? s : null;

    // Written by the receive loop, read by the heartbeat task: one int, so reads are never torn.
    private int? _sequence
    {
        get => Sequence;
        set => Volatile.Write(ref _sequenceValue, value ?? -1);
    }

    /// <summary>A snapshot of the counters.</summary>
    public GatewayStatistics Statistics => new(
        Volatile.Read(ref _connectionCount), Volatile.Read(ref _identifies), Volatile.Read(ref _resumes),
        Volatile.Read(ref _ready), Volatile.Read(ref _resumed), Volatile.Read(ref _zombies),
        Volatile.Read(ref _reconnectRequests), Volatile.Read(ref _invalidSessions), Volatile.Read(ref _sessionsLost),
        Volatile.Read(ref _heartbeats));

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> fires (then closes with 4000, keeping the session resumable, and
    /// throws <see cref="OperationCanceledException"/>) or a fatal close arrives (<see cref="GatewayFatalException"/>).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var resuming = _sessionId is not null && _resumeUrl is not null;
            ConnectionEnd end;
            try
            {
                Uri uri;
                if (resuming)
                {
                    uri = _resumeUrl!;
                }
                else
                {
                    var info = await _gatewayInfo(cancellationToken).ConfigureAwait(false);
                    await _identifyGate.WaitAsync(0, info.SessionStartLimit, cancellationToken).ConfigureAwait(false);
                    uri = WithQuery(info.Url);
                }

                end = await RunConnectionAsync(uri, resuming, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Rest.DiscordRestException ex) when (ex.StatusCode == 401)
            {
                LogFatal(_logger, 401, "GET gateway/bot was refused: Discord:BotToken is wrong or was reset");
                throw new GatewayFatalException(null, "Discord rejected the bot token (HTTP 401).");
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException
                                           or TimeoutException or JsonException or Rest.DiscordRestException
                                           or OperationCanceledException)
            {
                LogConnectFailed(_logger, ex, ex.GetType().Name);
                end = new ConnectionEnd(GatewayCloseAction.Resume, null, "connect failed", Established: false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            if (end.Action == GatewayCloseAction.Fatal)
            {
                LogFatal(_logger, end.Code ?? 0, GatewayCloseCodes.Describe(end.Code));
                throw new GatewayFatalException(end.Code, $"Discord gateway closed with {end.Code}: {GatewayCloseCodes.Describe(end.Code)}.");
            }

            failures = end.Established ? 0 : failures + 1;
            if (end.Action == GatewayCloseAction.NewSession
                || (resuming && !end.Established && failures >= ResumeFailuresBeforeNewSession && _sessionId is not null))
            {
                ForgetSession();
            }

            var delay = end.InvalidSession
                ? _options.Gateway.InvalidSessionMinDelay
                  + (_options.Gateway.InvalidSessionMaxDelay - _options.Gateway.InvalidSessionMinDelay) * _random.NextDouble()
                : _backoff.Next(failures);
            LogReconnecting(_logger, end.Reason, end.Code ?? 0, _sessionId is not null, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ForgetSession()
    {
        Interlocked.Increment(ref _sessionsLost);
        Volatile.Write(ref _sessionId, null);
        _resumeUrl = null;
        _sequence = null;
    }

    private static Uri WithQuery(string url)
    {
        var builder = new UriBuilder(url) { Query = "v=10&encoding=json" };
        return builder.Uri;
    }

    private async Task<ConnectionEnd> RunConnectionAsync(Uri uri, bool resuming, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connectionCount);
        LogConnecting(_logger, uri.Host, uri.AbsolutePath, resuming);
        var socket = await _connections.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        await using var socketScope = socket.ConfigureAwait(false);
        using var live = new LiveConnection(socket);
        await using var shutdown = cancellationToken.UnsafeRegister(
            static state =>
            {
                var (client, connection) = ((GatewayClient, LiveConnection))state!;
                // Not 1000: Discord would end the session, and the events sent while a restarted worker is down
                // would be lost. With 4000 the next start resumes it and Discord replays them.
                _ = client.RequestCloseAsync(connection, ResumableCloseCode, "restarting",
                    new ConnectionEnd(GatewayCloseAction.Resume, ResumableCloseCode, "shutdown", false));
            },
            (this, live)).ConfigureAwait(false);

        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        var interval = await ReceiveHelloAsync(live, buffer).ConfigureAwait(false);
        if (interval is null)
        {
            return live.CloseRequested ?? new ConnectionEnd(GatewayCloseAction.Resume, null, "no Hello", false);
        }

        var heartbeat = HeartbeatLoopAsync(live, interval.Value);
        try
        {
            if (resuming)
            {
                Interlocked.Increment(ref _resumes);
                live.Replaying = true;
                await SendAsync(live, writer =>
                {
                    writer.WriteNumber("op", 6);
                    writer.WriteStartObject("d");
                    writer.WriteString("token", _options.BotToken);
                    writer.WriteString("session_id", _sessionId);
                    if (_sequence is { } seq) writer.WriteNumber("seq", seq); else writer.WriteNull("seq");
                    writer.WriteEndObject();
                }).ConfigureAwait(false);
            }
            else
            {
                Interlocked.Increment(ref _identifies);
                _sequence = null;
                await SendAsync(live, writer =>
                {
                    writer.WriteNumber("op", 2);
                    writer.WriteStartObject("d");
                    writer.WriteString("token", _options.BotToken);
                    writer.WriteNumber("intents", (int)_options.Intents);
                    writer.WriteStartObject("properties");
                    writer.WriteString("os", Environment.OSVersion.Platform.ToString().ToLowerInvariant());
                    writer.WriteString("browser", _options.Gateway.LibraryName);
                    writer.WriteString("device", _options.Gateway.LibraryName);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }).ConfigureAwait(false);
            }

            return await ReceiveLoopAsync(live, buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return live.CloseRequested is { } requested
                ? requested with { Established = requested.Established || live.Established }
                : new ConnectionEnd(GatewayCloseAction.Resume, null, "connection dropped", live.Established);
        }
        finally
        {
            await live.Lifetime.CancelAsync().ConfigureAwait(false);
            socket.Abort();
            await heartbeat.ConfigureAwait(false);
        }
    }

    private async Task<TimeSpan?> ReceiveHelloAsync(LiveConnection live, ArrayBufferWriter<byte> buffer)
    {
        using var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(live.Lifetime.Token);
        helloTimeout.CancelAfter(_options.Gateway.HelloTimeout);
        try
        {
            var received = await live.Socket.ReceiveAsync(buffer, _options.Gateway.MaxFrameBytes, helloTimeout.Token)
                .ConfigureAwait(false);
            if (received.Closed)
            {
                return null;
            }

            using var doc = JsonDocument.Parse(buffer.WrittenMemory);
            var root = doc.RootElement;
            if (root.GetProperty("op").GetInt32() != (int)GatewayOpcode.Hello)
            {
                return null;
            }

            return TimeSpan.FromMilliseconds(root.GetProperty("d").GetProperty("heartbeat_interval").GetDouble());
        }
        catch (OperationCanceledException) when (live.CloseRequested is null)
        {
            return null;
        }
    }

    private async Task<ConnectionEnd> ReceiveLoopAsync(
        LiveConnection live, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            buffer.ResetWrittenCount();
            var received = await live.Socket.ReceiveAsync(buffer, _options.Gateway.MaxFrameBytes, live.Lifetime.Token)
                .ConfigureAwait(false);
            if (received.Closed)
            {
                if (live.CloseRequested is { } requested)
                {
                    return requested with { Established = requested.Established || live.Established };
                }

                var action = GatewayCloseCodes.Classify(received.CloseCode);
                LogServerClosed(_logger, received.CloseCode ?? 0, GatewayCloseCodes.Describe(received.CloseCode));
                return new ConnectionEnd(action, received.CloseCode, "server closed", live.Established);
            }

            await HandleFrameAsync(live, buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HandleFrameAsync(LiveConnection live, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(frame);
        var root = doc.RootElement;
        var op = (GatewayOpcode)root.GetProperty("op").GetInt32();
        switch (op)
        {
            case GatewayOpcode.Dispatch:
                await HandleDispatchAsync(live, root, cancellationToken).ConfigureAwait(false);
                break;
            case GatewayOpcode.Heartbeat:
                await SendHeartbeatAsync(live).ConfigureAwait(false);
                break;
            case GatewayOpcode.Reconnect:
                Interlocked.Increment(ref _reconnectRequests);
                await RequestCloseAsync(live, ResumableCloseCode, "reconnect requested",
                    new ConnectionEnd(GatewayCloseAction.Resume, null, "op 7 reconnect", live.Established)).ConfigureAwait(false);
                break;
            case GatewayOpcode.InvalidSession:
                Interlocked.Increment(ref _invalidSessions);
                var resumable = root.TryGetProperty("d", out var d) && d.ValueKind == JsonValueKind.True;
                await RequestCloseAsync(live, ResumableCloseCode, "invalid session",
                    new ConnectionEnd(resumable ? GatewayCloseAction.Resume : GatewayCloseAction.NewSession, null,
                        resumable ? "op 9 (resumable)" : "op 9 (new session)", live.Established, InvalidSession: true))
                    .ConfigureAwait(false);
                break;
            case GatewayOpcode.HeartbeatAck:
                Volatile.Write(ref live.AwaitingAck, false);
                break;
        }
    }

    private async Task HandleDispatchAsync(LiveConnection live, JsonElement root, CancellationToken cancellationToken)
    {
        int? sequence = root.TryGetProperty("s", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null;
        if (sequence is not null)
        {
            _sequence = sequence;
        }

        var type = root.TryGetProperty("t", out var t) ? t.GetString() ?? "" : "";
        var data = root.TryGetProperty("d", out var d) ? d.Clone() : default;
        if (type == "READY")
        {
            var ready = data.Deserialize<ReadyEvent>(DiscordJson.Options)!;
            Volatile.Write(ref _sessionId, ready.SessionId);
            _resumeUrl = WithQuery(ready.ResumeGatewayUrl);
            live.Established = true;
            Interlocked.Increment(ref _ready);
            LogReady(_logger, ready.User.Username, ready.User.Id);
        }
        else if (type == "RESUMED")
        {
            live.Established = true;
            live.Replaying = false;
            Interlocked.Increment(ref _resumed);
            LogResumed(_logger, _sequence ?? 0);
        }

        try
        {
            await _handler.HandleDispatchAsync(new GatewayDispatch(type, sequence, data) { Replayed = live.Replaying }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogHandlerFailed(_logger, ex, type);
        }
    }

    private async Task HeartbeatLoopAsync(LiveConnection live, TimeSpan interval)
    {
        await Task.Yield();
        try
        {
            var delay = interval * _random.NextDouble();
            while (true)
            {
                await Task.Delay(delay, _timeProvider, live.Lifetime.Token).ConfigureAwait(false);
                if (Volatile.Read(ref live.AwaitingAck))
                {
                    Interlocked.Increment(ref _zombies);
                    LogZombie(_logger, (long)interval.TotalMilliseconds);
                    await RequestCloseAsync(live, ResumableCloseCode, "heartbeat not acknowledged",
                        new ConnectionEnd(GatewayCloseAction.Resume, null, "zombied connection", live.Established))
                        .ConfigureAwait(false);
                    return;
                }

                await SendHeartbeatAsync(live).ConfigureAwait(false);
                delay = interval;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The receive loop sees the same failure and decides how to reconnect.
        }
    }

    private Task SendHeartbeatAsync(LiveConnection live)
    {
        Volatile.Write(ref live.AwaitingAck, true);
        Interlocked.Increment(ref _heartbeats);
        var sequence = _sequence;
        return SendAsync(live, writer =>
        {
            writer.WriteNumber("op", 1);
            if (sequence is { } seq) writer.WriteNumber("d", seq); else writer.WriteNull("d");
        });
    }

    private async Task SendAsync(LiveConnection live, Action<Utf8JsonWriter> body)
    {
        var output = new ArrayBufferWriter<byte>(256);
        await using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        await live.SendLock.WaitAsync(live.Lifetime.Token).ConfigureAwait(false);
        try
        {
            await live.Socket.SendAsync(output.WrittenMemory, live.Lifetime.Token).ConfigureAwait(false);
        }
        finally
        {
            live.SendLock.Release();
        }
    }

    /// <summary>
    /// Sends our close frame and lets the receive loop wait (briefly) for the server's; a peer that never answers
    /// is dropped when the close timeout ends the receive.
    /// </summary>
    private async Task RequestCloseAsync(LiveConnection live, int code, string reason, ConnectionEnd end)
    {
        if (Interlocked.CompareExchange(ref live.CloseRequestedBox, new StrongBox(end), null) is not null)
        {
            return;
        }

        try
        {
            live.Lifetime.CancelAfter(_options.Gateway.CloseTimeout);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        var lockTaken = false;
        try
        {
            lockTaken = await live.SendLock.WaitAsync(_options.Gateway.CloseTimeout).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(_options.Gateway.CloseTimeout);
            await live.Socket.CloseOutputAsync(code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or WebSocketException)
        {
            live.Socket.Abort();
        }
        finally
        {
            if (lockTaken)
            {
                try
                {
                    live.SendLock.Release();
                }
                catch (ObjectDisposedException)
                {
                    // The connection already ended.
                }
            }
        }
    }

    /// <summary>How a connection ended and what follows.</summary>
    private sealed record ConnectionEnd(
        GatewayCloseAction Action, int? Code, string Reason, bool Established, bool InvalidSession = false);

    private sealed class StrongBox(ConnectionEnd value)
    {
        public ConnectionEnd Value { get; } = value;
    }

    private sealed class LiveConnection(IWebSocketConnection socket) : IDisposable
    {
        public bool AwaitingAck;
        public StrongBox? CloseRequestedBox;

        public IWebSocketConnection Socket { get; } = socket;
        public SemaphoreSlim SendLock { get; } = new(1, 1);
        public CancellationTokenSource Lifetime { get; } = new();
        public bool Established { get; set; }

        /// <summary>Between our op 6 and RESUMED: the dispatches are Discord's replay of what we missed.</summary>
        public bool Replaying { get; set; }
        public ConnectionEnd? CloseRequested => Volatile.Read(ref CloseRequestedBox)?.Value;

        public void Dispose()
        {
            Lifetime.Dispose();
            SendLock.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord gateway connecting to {Host}{Path} ({Resuming})")]
    private static partial void LogConnecting(ILogger logger, string host, string path, bool resuming);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord gateway ready as {User} ({UserId})")]
    private static partial void LogReady(ILogger logger, string user, string userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord gateway resumed at sequence {Sequence}")]
    private static partial void LogResumed(ILogger logger, int sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord gateway heartbeat not acknowledged within {IntervalMs} ms; reconnecting")]
    private static partial void LogZombie(ILogger logger, long intervalMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord gateway closed by server: {Code} ({Meaning})")]
    private static partial void LogServerClosed(ILogger logger, int code, string meaning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord gateway reconnecting after {Reason} (code {Code}, resume {Resume}) in {DelayMs} ms")]
    private static partial void LogReconnecting(ILogger logger, string reason, int code, bool resume, long delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord gateway connection failed ({Kind})")]
    private static partial void LogConnectFailed(ILogger logger, Exception exception, string kind);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Discord gateway stopped for good: {Code} {Meaning}. Not reconnecting.")]
    private static partial void LogFatal(ILogger logger, int code, string meaning);

    [LoggerMessage(Level = LogLevel.Error, Message = "Discord dispatch handler failed for {EventType}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string eventType);
}
