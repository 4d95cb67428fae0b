using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Hosting;
using Otchatsa.Discord;
using Otchatsa.FakeDiscord;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Discord;

/// <summary>The real worker host (same registrations as Program.cs) with only Discord enabled, pointed at a
/// <see cref="FakeDiscordServer"/>, on the shared demo index; every log line is kept.</summary>
public sealed class DiscordHostRunner : IAsyncDisposable
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);

    private readonly TempFolder _stateDir;

    private DiscordHostRunner(IHost host, LogLines logs, TempFolder stateDir)
    {
        Host = host;
        Logs = logs;
        _stateDir = stateDir;
    }

    public IHost Host { get; }

    public LogLines Logs { get; }

    public int ExitCode => Host.Services.GetRequiredService<BotExitCode>().Value;

    public DiscordBot Bot => Host.Services.GetRequiredService<DiscordBot>();

    public static async Task<DiscordHostRunner> StartAsync(FakeDiscordServer fake, IDictionary<string, string?>? settings = null)
    {
        var stateDir = new TempFolder("otchatsa-bot-tests-");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = "Test",
        });
        var config = new Dictionary<string, string?>
        {
            ["Otchatsa:IndexPath"] = DemoIndex.Directory,
            ["Otchatsa:StatePath"] = stateDir.File("bot.db"),
            ["Discord:Enabled"] = "true",
            ["Discord:BotToken"] = FakeDiscordServer.Token,
            ["Discord:ApiBaseUrl"] = fake.ApiBaseUrl.ToString(),
            ["Discord:AttachmentHosts:0"] = "127.0.0.1",
            ["Discord:RetryBaseDelay"] = "00:00:00.020",
            ["Discord:Gateway:ReconnectBaseDelay"] = "00:00:00.020",
            ["Discord:Gateway:ReconnectMaxDelay"] = "00:00:00.500",
            ["Discord:Gateway:CloseTimeout"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(config);
        var logs = new LogLines();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton(DemoIndex.Runtime);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddOtchatsaBot(builder.Configuration);
        var host = builder.Build();
        Assert.Empty(BotConfiguration.Problems(host.Services));
        await host.StartAsync();
        return new DiscordHostRunner(host, logs, stateDir);
    }

    /// <summary>The client has processed READY (it knows its own user id, so messages can be routed).</summary>
    public Task WaitReadyAsync(FakeDiscordServer fake) =>
        fake.WaitUntilAsync(() => Bot.Gateway.Statistics.Ready >= 1, Budget, "READY");

    /// <summary>Graceful stop: Discord stops taking events, the queue drains.</summary>
    public Task StopAsync() => Host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(new CancellationToken(canceled: true));
        Host.Dispose();
        _stateDir.Dispose();
    }

    /// <summary>Every log line the host wrote (message and exception text).</summary>
    public sealed class LogLines : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Category, string Text)> _lines = new();

        public IReadOnlyList<(LogLevel Level, string Category, string Text)> Lines => _lines.ToArray();

        public string AllText => string.Join('\n', _lines.Select(l => l.Text));

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogLines owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner._lines.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " | " + exception)));
        }
    }
}
