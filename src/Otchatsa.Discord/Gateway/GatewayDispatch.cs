using System.Text.Json;

namespace Otchatsa.Discord.Gateway;

/// <summary>An op 0 event: <see cref="Type"/> is <c>t</c>, <see cref="Data"/> a detached copy of <c>d</c>.</summary>
/// <param name="Type">Event name, e.g. <c>MESSAGE_CREATE</c>.</param>
/// <param name="Sequence">The frame's <c>s</c>.</param>
/// <param name="Data">The event payload.</param>
public sealed record GatewayDispatch(string Type, int? Sequence, JsonElement Data)
{
    /// <summary>Sent between a resume and RESUMED: Discord replaying an event this session missed.</summary>
    public bool Replayed { get; init; }
}

/// <summary>Receives dispatches. Called on the receive loop: return quickly and do slow work elsewhere.</summary>
public interface IGatewayDispatchHandler
{
    /// <summary>Handles one dispatch.</summary>
    ValueTask HandleDispatchAsync(GatewayDispatch dispatch, CancellationToken cancellationToken);
}

/// <summary>Counters of the gateway's life, for tests, the soak run and health logs.</summary>
/// <param name="Connections">WebSocket connections opened.</param>
/// <param name="Identifies">Identify frames sent.</param>
/// <param name="Resumes">Resume frames sent.</param>
/// <param name="Ready">READY events received.</param>
/// <param name="Resumed">RESUMED events received.</param>
/// <param name="ZombieConnections">Connections closed because a heartbeat was not acknowledged.</param>
/// <param name="ReconnectRequests">Op 7 received.</param>
/// <param name="InvalidSessions">Op 9 received.</param>
/// <param name="SessionsLost">Ends that required a new session (op 9 false, 4007, 4009, failed resumes).</param>
/// <param name="Heartbeats">Heartbeats sent.</param>
public sealed record GatewayStatistics(
    int Connections, int Identifies, int Resumes, int Ready, int Resumed, int ZombieConnections,
    int ReconnectRequests, int InvalidSessions, int SessionsLost, int Heartbeats);

/// <summary>A resumable point of a session: every dispatch up to <see cref="Sequence"/> has been handled.</summary>
/// <param name="SessionId">READY's <c>session_id</c>.</param>
/// <param name="ResumeGatewayUrl">Where to resume (with the query).</param>
/// <param name="Sequence">The <c>seq</c> to send in op 6.</param>
public sealed record GatewayCheckpoint(string SessionId, Uri ResumeGatewayUrl, int Sequence);
