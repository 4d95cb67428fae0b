using System.Buffers;
using System.Net.WebSockets;

namespace Otchatsa.Discord.Gateway.WebSockets;

/// <summary><see cref="IWebSocketConnectionProvider"/> on <see cref="ClientWebSocket"/>.</summary>
public sealed class ClientWebSocketConnectionProvider : IWebSocketConnectionProvider
{
    /// <inheritdoc />
    public async Task<IWebSocketConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        // Discord's own heartbeat detects dead peers; protocol pings would only add traffic.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            return new ClientWebSocketConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>A gateway connection over <see cref="ClientWebSocket"/>.</summary>
public sealed class ClientWebSocketConnection(WebSocket socket) : IWebSocketConnection
{
    /// <inheritdoc />
    public async ValueTask<WebSocketReceive> ReceiveAsync(
        IBufferWriter<byte> buffer, int maxBytes, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var memory = buffer.GetMemory(4096);
            var result = await socket.ReceiveAsync(memory, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return new WebSocketReceive(true, (int?)socket.CloseStatus, socket.CloseStatusDescription);
            }

            buffer.Advance(result.Count);
            total += result.Count;
            if (total > maxBytes)
            {
                throw new WebSocketException(WebSocketError.Faulted, $"Gateway frame larger than {maxBytes} bytes.");
            }

            if (result.EndOfMessage)
            {
                return new WebSocketReceive(false, null, null);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask SendAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken) =>
        socket.SendAsync(utf8, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <inheritdoc />
    public async Task CloseOutputAsync(int code, string reason, CancellationToken cancellationToken)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        try
        {
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
            // Best effort: a dead peer cannot be told; the caller drops the socket.
        }
    }

    /// <inheritdoc />
    public void Abort() => socket.Abort();

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
