using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Otchatsa.Tests.Catalog;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 with an OS-chosen port. Raw sockets rather than HttpListener so tests can
/// misbehave on purpose: lie about Content-Length, stream forever, never answer.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    /// <summary>A request as the handler sees it; <c>Attempt</c> counts requests for this path so far, this one included (1-based).</summary>
    public sealed record Request(string Method, string Path, int Attempt);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Request, Stream, CancellationToken, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly Task _acceptLoop;

    public LoopbackHttpServer(Func<Request, Stream, CancellationToken, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    public int RequestsFor(string path) => _counts.GetValueOrDefault(path);

    public int TotalRequests => _counts.Values.Sum();

    public static async Task RespondAsync(Stream stream, int status, byte[] body, CancellationToken ct, params string[] headers)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} Status{status}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n");
        foreach (var h in headers)
            head.Append(h).Append("\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
        await stream.WriteAsync(body, ct);
        await stream.FlushAsync(ct);
    }

    public static Task WriteHeadAsync(Stream stream, string head, CancellationToken ct) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes(head.Replace("\n", "\r\n") + "\r\n"), ct).AsTask();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var requestLine = await ReadHeadAsync(stream, _stop.Token);
                if (requestLine is null)
                    return;
                var parts = requestLine.Split(' ');
                var path = parts.Length > 1 ? parts[1] : "/";
                var attempt = _counts.AddOrUpdate(path, 1, (_, n) => n + 1);
                await _handler(new Request(parts[0], path, attempt), stream, _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (size cap, timeout) or the server is stopping: both expected in these tests.
            }
        }
    }

    /// <summary>Reads the request head up to the blank line and returns its first line.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, ct) == 0)
                return null;
            head.Add(one[0]);
            var n = head.Count;
            if (n >= 4 && head[n - 4] == '\r' && head[n - 3] == '\n' && head[n - 2] == '\r' && head[n - 1] == '\n')
                break;
        }
        var text = Encoding.ASCII.GetString(head.ToArray());
        return text[..text.IndexOf('\r')];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}
