using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Otchatsa.Discord;
using Otchatsa.Discord.Gateway;
using Otchatsa.Discord.Interactions;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

/// <summary>
/// The host's attachment check as these tests supply it: the library's tests cover the protocol, not image formats
/// (the engine's sniffer has its own tests), so JPEG's three magic bytes are enough.
/// </summary>
internal static class TestContentCheck
{
    public static string? JpegOnly(ReadOnlySpan<byte> content) =>
        content.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]) ? "image/jpeg" : null;
}

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells a test when the code under test starts waiting on it: every timer armed
/// (by <c>Task.Delay</c>, a timed <c>CancellationTokenSource</c>, Polly) is recorded with its due time. A test waits until
/// the code is parked on the clock for the expected span, then advances exactly that far — no sleeps, no guessing.
/// </summary>
internal sealed class ObservedClock : FakeTimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<TimeSpan> _armed = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ObservedClock()
        : base(DateTimeOffset.UnixEpoch)
    {
    }

    /// <summary>Due times of every timer armed so far (relative to the fake time when each was armed).</summary>
    public IReadOnlyList<TimeSpan> Armed
    {
        get { lock (_lock) { return _armed.ToArray(); } }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Observed(this, base.CreateTimer(callback, state, dueTime, period));
        Record(dueTime);
        return timer;
    }

    /// <summary>Waits (up to <see cref="DiscordHarness.Budget"/> of real time) until <paramref name="count"/> timers due in exactly <paramref name="due"/> were armed.</summary>
    public Task WaitForTimerAsync(TimeSpan due, int count = 1) => WaitForTimerAsync(d => d == due, $"{count} timer(s) of {due}", count);

    /// <summary>Waits (up to <see cref="DiscordHarness.Budget"/> of real time) until <paramref name="count"/> timers matching <paramref name="match"/> were armed.</summary>
    public async Task WaitForTimerAsync(Func<TimeSpan, bool> match, string what, int count = 1)
    {
        var deadline = DateTime.UtcNow + DiscordHarness.Budget;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_armed.Count(match) >= count)
                {
                    return;
                }

                changed = _changed.Task;
            }

            var remaining = deadline - DateTime.UtcNow;
            Assert.True(remaining > TimeSpan.Zero, $"{what} never armed; armed: [{string.Join(", ", Armed)}]");
            await Task.WhenAny(changed, Task.Delay(remaining));
        }
    }

    private void Record(TimeSpan dueTime)
    {
        if (dueTime == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        TaskCompletionSource changed;
        lock (_lock)
        {
            _armed.Add(dueTime);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private sealed class Observed(ObservedClock owner, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            owner.Record(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

/// <summary>Collects every log line (message and exception text) so tests can check what was logged.</summary>
internal sealed class CollectingLoggerFactory : ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Text)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Text)> Lines => _lines.ToArray();

    public string AllText => string.Join('\n', _lines.Select(l => l.Text));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CollectingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " | " + exception)));
    }
}

/// <summary>Records what the bot handed to the handlers; behaviour is set per test.</summary>
internal sealed class RecordingHandlers : IDiscordMessageHandler, IDiscordInteractionHandler
{
    private readonly ConcurrentQueue<DiscordMessageContext> _messages = new();
    private readonly ConcurrentQueue<DiscordInteractionContext> _interactions = new();

    public IReadOnlyList<DiscordMessageContext> Messages => _messages.ToArray();

    public IReadOnlyList<DiscordInteractionContext> Interactions => _interactions.ToArray();

    public Func<DiscordMessageContext, CancellationToken, Task>? OnMessage { get; set; }

    public Func<DiscordInteractionContext, CancellationToken, Task>? OnInteraction { get; set; }

    public Task HandleMessageAsync(DiscordMessageContext context, CancellationToken cancellationToken)
    {
        _messages.Enqueue(context);
        return OnMessage?.Invoke(context, cancellationToken) ?? Task.CompletedTask;
    }

    public Task HandleInteractionAsync(DiscordInteractionContext context, CancellationToken cancellationToken)
    {
        _interactions.Enqueue(context);
        return OnInteraction?.Invoke(context, cancellationToken) ?? Task.CompletedTask;
    }
}

/// <summary>A fake Discord plus the real client pointed at it.</summary>
internal sealed class DiscordHarness : IAsyncDisposable
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();

    private DiscordHarness(FakeDiscordServer fake, DiscordClientOptions options)
    {
        Fake = fake;
        Options = options;
    }

    public FakeDiscordServer Fake { get; }
    public DiscordClientOptions Options { get; }
    public RecordingHandlers Handlers { get; } = new();
    public CollectingLoggerFactory Logs { get; } = new();
    public DiscordBot Bot { get; private set; } = null!;
    public Task Run { get; private set; } = Task.CompletedTask;

    public static IReadOnlyList<ApplicationCommandChoice> TestStyles { get; } =
    [
        new("Romantic 로맨틱", "romantic"),
        new("Street 스트리트", "street"),
        new("Military 밀리터리", "military"),
    ];

    public static async Task<DiscordHarness> StartAsync(
        Action<DiscordClientOptions>? configure = null, Action<FakeDiscordServer>? configureFake = null, bool run = true,
        TimeProvider? clock = null)
    {
        var fake = await FakeDiscordServer.StartAsync(clock);
        configureFake?.Invoke(fake);
        var options = new DiscordClientOptions
        {
            BotToken = FakeDiscordServer.Token,
            ApiBaseUrl = fake.ApiBaseUrl,
            AttachmentHosts = ["127.0.0.1"],
            AutoDeferAfter = TimeSpan.FromSeconds(1.5),
            Gateway = new GatewayOptions
            {
                HelloTimeout = TimeSpan.FromSeconds(5),
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
                ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
                InvalidSessionMinDelay = TimeSpan.FromMilliseconds(10),
                InvalidSessionMaxDelay = TimeSpan.FromMilliseconds(50),
                IdentifyWindow = TimeSpan.FromMilliseconds(50),
                CloseTimeout = TimeSpan.FromMilliseconds(500),
            },
        };
        configure?.Invoke(options);
        var harness = new DiscordHarness(fake, options);
        harness.Bot = DiscordBot.Create(options, TestCommands.Build(TestStyles),
            harness.Handlers, harness.Handlers, TestContentCheck.JpegOnly, harness.Logs, clock);
        if (run)
        {
            harness.Start();
        }

        return harness;
    }

    public void Start() => Run = Task.Run(() => Bot.RunAsync(_stop.Token));

    /// <summary>Waits for READY (first session) on the client side.</summary>
    public Task WaitReadyAsync(int count = 1) =>
        Fake.WaitUntilAsync(() => Bot.Gateway.Statistics.Ready >= count && Bot.Gateway.SessionId is not null, Budget, $"READY #{count}");

    /// <summary>Stops the client (it closes with 4000, so the fake keeps the session resumable), leaving the fake running.</summary>
    public async Task StopBotAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
            // Expected end.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or GatewayFatalException)
        {
            // Expected ends.
        }

        await Fake.DisposeAsync();
        Assert.DoesNotContain(FakeDiscordServer.Token, Logs.AllText, StringComparison.Ordinal);
        _stop.Dispose();
    }
}
