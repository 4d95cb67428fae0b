using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Otchatsa.Discord.Gateway;
using Otchatsa.Discord.Gateway.WebSockets;
using Otchatsa.Discord.Models;

namespace Otchatsa.Discord.Tests;

/// <summary>Heartbeat timing on a fake clock, through a scripted connection (no sockets, no real waiting).</summary>
public sealed class HeartbeatTests
{
    [Fact]
    public async Task First_beat_comes_after_a_random_fraction_of_the_interval_and_a_missed_ack_closes_with_4000()
    {
        var time = new ObservedClock();
        var connection = new ScriptedConnection();
        var provider = new ScriptedProvider(connection);
        var options = new DiscordClientOptions { BotToken = "t" };
        var jitter = new Random(42).NextDouble();
        var gateway = new GatewayClient(options,
            _ => Task.FromResult(new GatewayBotInfo { Url = "wss://gateway.invalid" }),
            provider, new NullDispatchHandler(), time, NullLogger<GatewayClient>.Instance, new Random(42));
        using var stop = new CancellationTokenSource();
        var run = gateway.RunAsync(stop.Token);

        connection.Push("""{"op":10,"d":{"heartbeat_interval":1000},"s":null,"t":null}""");
        await connection.WaitForSentAsync(frames => frames.Any(f => (int?)f["op"] == 2));
        connection.Push("""{"op":0,"s":1,"t":"READY","d":{"session_id":"s1","resume_gateway_url":"wss://resume.invalid","user":{"id":"1","username":"b"},"application":{"id":"2"}}}""");

        await WaitAsync(() => gateway.Sequence == 1);

        // The heartbeat task parks on the clock for the jittered fraction of the interval (to the millisecond, as
        // Task.Delay keeps it); just before that nothing but Identify has gone out.
        var firstBeat = TimeSpan.FromMilliseconds(1000 * jitter);
        await time.WaitForTimerAsync(d => (d - firstBeat).Duration() < TimeSpan.FromMilliseconds(1), $"the first beat's timer ({firstBeat})");
        time.Advance(firstBeat - TimeSpan.FromMilliseconds(2));
        Assert.Equal([2], connection.Sent.Select(f => (int?)f["op"]));
        time.Advance(TimeSpan.FromMilliseconds(2));
        await connection.WaitForSentAsync(frames => frames.Any(f => (int?)f["op"] == 1));
        Assert.Equal(1, (int?)connection.Sent.Last(f => (int?)f["op"] == 1)["d"]);

        // After a beat the task parks for one whole interval: the next beat goes out when it has passed, not before.
        connection.Push("""{"op":11}""");
        await WaitAsync(() => connection.Received >= 3);
        var interval = TimeSpan.FromMilliseconds(1000);
        await time.WaitForTimerAsync(interval);
        time.Advance(interval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, connection.Sent.Count(f => (int?)f["op"] == 1));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await connection.WaitForSentAsync(frames => frames.Count(f => (int?)f["op"] == 1) == 2);

        // No ACK for the second beat: the next tick, one interval later, closes the zombie with a resumable code.
        await time.WaitForTimerAsync(interval, count: 2);
        time.Advance(interval - TimeSpan.FromMilliseconds(1));
        Assert.Null(connection.CloseCode);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await WaitAsync(() => connection.CloseCode is not null);
        Assert.Equal(GatewayClient.ResumableCloseCode, connection.CloseCode);
        Assert.Equal(2, connection.Sent.Count(f => (int?)f["op"] == 1));

        await stop.CancelAsync();
        connection.Complete();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(DiscordHarness.Budget));
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + DiscordHarness.Budget;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(5);
        }
    }

    private sealed class NullDispatchHandler : IGatewayDispatchHandler
    {
        public ValueTask HandleDispatchAsync(GatewayDispatch dispatch, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class ScriptedProvider(ScriptedConnection connection) : IWebSocketConnectionProvider
    {
        private int _used;

        public Task<IWebSocketConnection> ConnectAsync(Uri uri, CancellationToken cancellationToken) =>
            Interlocked.Exchange(ref _used, 1) == 0
                ? Task.FromResult<IWebSocketConnection>(connection)
                : Task.FromException<IWebSocketConnection>(new System.Net.WebSockets.WebSocketException("only one connection scripted"));
    }

    private sealed class ScriptedConnection : IWebSocketConnection
    {
        private readonly Channel<string> _incoming = Channel.CreateUnbounded<string>();
        private readonly List<JsonNode> _sent = [];
        private int _received;

        public IReadOnlyList<JsonNode> Sent
        {
            get { lock (_sent) { return _sent.ToArray(); } }
        }

        public int Received => Volatile.Read(ref _received);

        public int? CloseCode { get; private set; }

        public void Push(string frame) => _incoming.Writer.TryWrite(frame);

        public void Complete() => _incoming.Writer.TryComplete();

        public Task WaitForSentAsync(Func<IReadOnlyList<JsonNode>, bool> condition) => WaitAsync(() => condition(Sent));

        public async ValueTask<WebSocketReceive> ReceiveAsync(IBufferWriter<byte> buffer, int maxBytes, CancellationToken cancellationToken)
        {
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken) || !_incoming.Reader.TryRead(out var frame))
            {
                return new WebSocketReceive(true, 1000, null);
            }

            buffer.Write(Encoding.UTF8.GetBytes(frame));
            Interlocked.Increment(ref _received);
            return new WebSocketReceive(false, null, null);
        }

        public ValueTask SendAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken)
        {
            lock (_sent)
            {
                _sent.Add(JsonNode.Parse(utf8.Span)!);
            }

            return ValueTask.CompletedTask;
        }

        public Task CloseOutputAsync(int code, string reason, CancellationToken cancellationToken)
        {
            CloseCode = code;
            _incoming.Writer.TryComplete();
            return Task.CompletedTask;
        }

        public void Abort() => _incoming.Writer.TryComplete();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
