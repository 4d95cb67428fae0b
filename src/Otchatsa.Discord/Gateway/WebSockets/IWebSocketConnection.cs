using System.Buffers;

namespace Otchatsa.Discord.Gateway.WebSockets;

/// <summary>Opens gateway connections; a seam so tests can feed frames without sockets.</summary>
public interface IWebSocketConnectionProvider
{
    /// <summary>Connects to <paramref name="uri"/> (a <c>ws</c>/<c>wss</c> URL with query).</summary>
    Task<IWebSocketConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken);
}

/// <summary>One text-frame WebSocket connection.</summary>
public interface IWebSocketConnection : IAsyncDisposable
{
    /// <summary>Reads one whole message into <paramref name="buffer"/>, or reports that the peer closed.</summary>
    ValueTask<WebSocketReceive> ReceiveAsync(IBufferWriter<byte> buffer, int maxBytes, CancellationToken cancellationToken);

    /// <summary>Sends one text message. Callers serialise their sends.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken);

    /// <summary>
    /// Sends a close frame with <paramref name="code"/> without waiting for the peer's; keep receiving to see the
    /// peer's close, or <see cref="Abort"/>.
    /// </summary>
    Task CloseOutputAsync(int code, string reason, CancellationToken cancellationToken);

    /// <summary>Drops the socket without a close frame.</summary>
    void Abort();
}

/// <summary>The result of a receive: a message, or the peer's close (code null when it gave none).</summary>
/// <param name="Closed">The peer closed the connection.</param>
/// <param name="CloseCode">The close code, if any.</param>
/// <param name="CloseReason">The close reason text, if any.</param>
public readonly record struct WebSocketReceive(bool Closed, int? CloseCode, string? CloseReason);
