using Otchatsa.FakeTelegram;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Otchatsa.Bot.Hosting;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Telegram;

/// <summary>The real worker host (same registrations as Program.cs) pointed at a <see cref="FakeTelegramApi"/>, on the shared demo index.</summary>
public sealed class BotHostRunner : IAsyncDisposable
{
    private readonly TempFolder? _ownedStateDir;

    private BotHostRunner(IHost host, string stateDir, TempFolder? ownedStateDir)
    {
        Host = host;
        StateDir = stateDir;
        _ownedStateDir = ownedStateDir;
    }

    public IHost Host { get; }

    public string StateDir { get; }

    public int ExitCode => Host.Services.GetRequiredService<BotExitCode>().Value;

    public static async Task<BotHostRunner> StartAsync(
        FakeTelegramApi fake,
        string? stateDir = null,
        IDictionary<string, string?>? settings = null,
        string token = FakeTelegramApi.Token,
        TimeProvider? time = null)
    {
        // A state folder the caller did not pass is this runner's, deleted on dispose; a passed one is the caller's.
        var owned = stateDir is null ? new TempFolder("otchatsa-bot-tests-") : null;
        stateDir ??= owned!.Path;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = "Test",
        });
        var config = new Dictionary<string, string?>
        {
            ["Otchatsa:IndexPath"] = DemoIndex.Directory,
            ["Otchatsa:StatePath"] = Path.Combine(stateDir, "bot.db"),
            ["Telegram:Enabled"] = "true",
            ["Telegram:BotToken"] = token,
            ["Telegram:ApiBaseUrl"] = fake.BaseUrl,
            ["Telegram:PollTimeout"] = "00:00:01",
            ["Telegram:InitialBackoff"] = "00:00:00.050",
            ["Telegram:MaxBackoff"] = "00:00:00.500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }
        builder.Configuration.AddInMemoryCollection(config);
        builder.Services.AddSingleton(DemoIndex.Runtime);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddOtchatsaBot(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        return new BotHostRunner(host, stateDir, owned);
    }

    /// <summary>Graceful stop: polling ends, the queue drains.</summary>
    public Task StopAsync() => Host.StopAsync();

    /// <summary>A crash-like stop: the queue is abandoned at once, jobs in flight stay pending.</summary>
    public Task AbortAsync() => Host.StopAsync(new CancellationToken(canceled: true));

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(new CancellationToken(canceled: true));
        Host.Dispose();
        _ownedStateDir?.Dispose();
    }
}
