// Soak run: the real Discord client against the loopback fake for N minutes with random disconnects of every
// kind and a stream of interactions. Passes when no interaction is left unanswered and the client identified at
// most once per session the server invalidated (plus the first).
//   dotnet run --project tools/Otchatsa.DiscordSoak -c Release -- [--minutes 10] [--seed 1] [--json out.json]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Discord;
using Otchatsa.Discord.Gateway;
using Otchatsa.Discord.Interactions;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.Discord;
using Otchatsa.FakeDiscord;
using Otchatsa.Imaging;

var minutes = Arg("--minutes", 10.0);
var seed = (int)Arg("--seed", 1.0);
var jsonOut = args.SkipWhile(a => a != "--json").Skip(1).FirstOrDefault();
var random = new Random(seed);
var logs = new ConsoleWarningLoggerFactory();

await using var fake = await FakeDiscordServer.StartAsync();
fake.HeartbeatIntervalMs = 1000;
var options = new DiscordClientOptions
{
    BotToken = FakeDiscordServer.Token,
    ApiBaseUrl = fake.ApiBaseUrl,
    AttachmentHosts = ["127.0.0.1"],
    Gateway = new GatewayOptions
    {
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(200),
        ReconnectMaxDelay = TimeSpan.FromSeconds(5),
        InvalidSessionMinDelay = TimeSpan.FromMilliseconds(200),
        InvalidSessionMaxDelay = TimeSpan.FromSeconds(1),
        IdentifyWindow = TimeSpan.FromSeconds(1),
        CloseTimeout = TimeSpan.FromSeconds(1),
    },
};
var handler = new SoakHandler(seed);
var bot = DiscordBot.Create(options,
    OtchatsaCommands.Build([new("Romantic", "romantic"), new("Street", "street")], global: true),
    null, handler, ImageFormatSniffer.ChatPhotoMediaType, logs);
using var stop = new CancellationTokenSource();
var run = Task.Run(() => bot.RunAsync(stop.Token));
await fake.WaitUntilAsync(() => fake.SessionActive, TimeSpan.FromSeconds(10), "first READY");

var sent = new ConcurrentDictionary<string, (string Token, string Command, DateTimeOffset At)>();
var disruptions = new ConcurrentDictionary<string, int>();
var quiet = 0; // 1 while a session-ending disruption waits for the client to catch up
var duration = TimeSpan.FromMinutes(minutes);
var clock = Stopwatch.StartNew();

var producer = Task.Run(async () =>
{
    var rng = new Random(seed + 1);
    string[] commands = [OtchatsaCommands.Help, OtchatsaCommands.Style, OtchatsaCommands.Styles, OtchatsaCommands.FindSimilar];
    while (clock.Elapsed < duration)
    {
        await Task.Delay(rng.Next(50, 300));
        if (Volatile.Read(ref quiet) == 1 || !fake.SessionActive)
        {
            continue;
        }

        var command = commands[rng.Next(commands.Length)];
        JsonObject payload = command == OtchatsaCommands.FindSimilar
            ? FakeEvents.MessageCommand(FakeDiscordServer.ApplicationId, command,
                FakeEvents.Message("500000000000000001", "400000000000000001", FakeEvents.User("600000000000000001", "u"), "look"))
            : FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, command,
                command == OtchatsaCommands.Style ? [new JsonObject { ["name"] = "name", ["type"] = 3, ["value"] = "romantic" }] : null);
        if (rng.Next(25) == 0)
        {
            fake.InjectRateLimit(new RateLimitInjection("/messages/@original", TimeSpan.FromMilliseconds(rng.Next(100, 800))));
        }

        sent[(string)payload["id"]!] = ((string)payload["token"]!, command, DateTimeOffset.UtcNow);
        await fake.DispatchAsync("INTERACTION_CREATE", payload);
    }
});

var chaos = Task.Run(async () =>
{
    var rng = new Random(seed + 2);
    string[] kinds = ["op7", "close4000", "close4008", "drop", "op9-true", "zombie", "op9-false", "close4009", "close4007"];
    while (clock.Elapsed < duration - TimeSpan.FromSeconds(5))
    {
        await Task.Delay(rng.Next(3000, 15000));
        await fake.WaitUntilAsync(() => fake.SessionActive && bot.Gateway.SessionId is not null, TimeSpan.FromSeconds(60), "live session before disruption");
        var kind = kinds[rng.Next(kinds.Length)];
        disruptions.AddOrUpdate(kind, 1, (_, n) => n + 1);
        if (kind is "op9-false" or "close4009" or "close4007")
        {
            // Discord drops what a dead session had not delivered; the soak only checks the client, so it lets
            // the client read everything already sent before killing the session.
            Volatile.Write(ref quiet, 1);
            await fake.WaitUntilAsync(() => bot.Gateway.Sequence >= fake.LastSequence, TimeSpan.FromSeconds(30), "client caught up");
        }

        switch (kind)
        {
            case "op7": await fake.SendOpAsync(7); break;
            case "close4000": await fake.CloseCurrentAsync(4000); break;
            case "close4008": await fake.CloseCurrentAsync(4008); break;
            case "drop": fake.DropCurrent(); break;
            case "op9-true": await fake.InvalidateSessionAsync(true); break;
            case "op9-false": await fake.InvalidateSessionAsync(false); break;
            case "close4009": await fake.CloseCurrentAsync(4009); break;
            case "close4007": await fake.CloseCurrentAsync(4007); break;
            case "zombie":
                var zombies = bot.Gateway.Statistics.ZombieConnections;
                fake.WithholdAcks = true;
                await fake.WaitUntilAsync(() => bot.Gateway.Statistics.ZombieConnections > zombies, TimeSpan.FromSeconds(30), "zombie detected");
                fake.WithholdAcks = false;
                break;
        }

        Volatile.Write(ref quiet, 0);
    }
});

var lastReport = TimeSpan.Zero;
while (!producer.IsCompleted || !chaos.IsCompleted)
{
    await Task.WhenAny(Task.WhenAll(producer, chaos), Task.Delay(1000));
    if (clock.Elapsed - lastReport >= TimeSpan.FromMinutes(1))
    {
        lastReport = clock.Elapsed;
        var s = bot.Gateway.Statistics;
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] sent {sent.Count}, connections {s.Connections}, identifies {s.Identifies}, resumes {s.Resumes}");
    }
}

await Task.WhenAll(producer, chaos);
var answered = Answered();
var settle = Stopwatch.StartNew();
while (answered.Count < sent.Count && settle.Elapsed < TimeSpan.FromSeconds(30))
{
    await Task.Delay(200);
    answered = Answered();
}

await stop.CancelAsync();
try
{
    await run.WaitAsync(TimeSpan.FromSeconds(15));
}
catch (OperationCanceledException)
{
}

var stats = bot.Gateway.Statistics;
var latencies = answered.Values.Select(a => a.FirstResponseMs).Order().ToArray();
var unanswered = sent.Keys.Where(id => !answered.ContainsKey(id)).ToArray();
var sessionsEnded = fake.SessionsInvalidated;
var result = new
{
    minutes,
    seed,
    interactions_sent = sent.Count,
    interactions_answered = answered.Count,
    unanswered = unanswered.Length,
    deferred = answered.Values.Count(a => a.Deferred),
    first_response_ms_p50 = Percentile(latencies, 0.50),
    first_response_ms_p99 = Percentile(latencies, 0.99),
    first_response_ms_max = latencies.Length == 0 ? 0 : latencies[^1],
    over_3s = latencies.Count(l => l > 3000),
    rate_limited_429 = fake.Requests.Count(r => r.Status == 429),
    disruptions = disruptions.OrderBy(d => d.Key).ToDictionary(d => d.Key, d => d.Value),
    server_sessions_invalidated = sessionsEnded,
    identifies = fake.IdentifyCount,
    resumes = fake.ResumeCount,
    connections = stats.Connections,
    client = stats,
    warnings_logged = logs.Warnings,
    token_in_logs = logs.SawToken,
};
var json = JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });
Console.WriteLine(json);
if (jsonOut is not null)
{
    await File.WriteAllTextAsync(jsonOut, json);
}

var pass = unanswered.Length == 0 && result.over_3s == 0 && fake.IdentifyCount <= 1 + sessionsEnded && !logs.SawToken;
Console.WriteLine(pass
    ? $"SOAK PASS: {sent.Count} interactions answered, identifies {fake.IdentifyCount} ≤ 1 + {sessionsEnded}"
    : $"SOAK FAIL: unanswered {unanswered.Length}, over 3 s {result.over_3s}, identifies {fake.IdentifyCount} vs 1 + {sessionsEnded}");
return pass ? 0 : 1;

Dictionary<string, (double FirstResponseMs, bool Deferred)> Answered()
{
    var requests = fake.Requests.Where(r => r.Status is >= 200 and < 300).ToArray();
    var callbacks = requests.Where(r => r.Path.StartsWith("interactions/", StringComparison.Ordinal))
        .GroupBy(r => r.Path.Split('/')[1]).ToDictionary(g => g.Key, g => g.First());
    var patched = requests.Where(r => r.Method == "PATCH").Select(r => r.Path.Split('/')[2]).ToHashSet();
    var answers = new Dictionary<string, (double, bool)>();
    foreach (var (id, info) in sent)
    {
        if (!callbacks.TryGetValue(id, out var callback))
        {
            continue;
        }

        var deferred = (int?)callback.Json?["type"] == 5;
        if (!deferred || patched.Contains(info.Token))
        {
            answers[id] = ((callback.At - info.At).TotalMilliseconds, deferred);
        }
    }

    return answers;
}

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))], 1);

double Arg(string name, double fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : double.Parse(value, CultureInfo.InvariantCulture);
}

/// <summary>Answers like the real front end will: quick text, slow analyses deferred, photos with nine images.</summary>
internal sealed class SoakHandler(int seed) : IDiscordInteractionHandler
{
    private readonly Random _random = new(seed + 3);
    private readonly Lock _lock = new();

    public async Task HandleInteractionAsync(DiscordInteractionContext context, CancellationToken cancellationToken)
    {
        int delay;
        lock (_lock)
        {
            delay = context.CommandName switch
            {
                OtchatsaCommands.Help => 0,
                OtchatsaCommands.Style => _random.Next(0, 200),
                OtchatsaCommands.Styles => _random.Next(0, 3000), // no explicit defer: the auto-defer must catch it
                _ => _random.Next(200, 2500),
            };
        }

        if (context.CommandType == ApplicationCommandType.Message)
        {
            await context.DeferAsync(ephemeral: false, cancellationToken);
        }

        await Task.Delay(delay, cancellationToken);
        var images = context.CommandType == ApplicationCommandType.Message
            ? Enumerable.Range(0, 9).Select(i => new ReplyImage($"item{i}.jpg", new byte[] { 0xFF, 0xD8, 0xFF, (byte)i }, "image/jpeg")).ToArray()
            : [];
        await context.RespondAsync(new DiscordReply
        {
            Text = $"answer to {context.CommandName}",
            Images = images,
            Ephemeral = context.CommandName == OtchatsaCommands.Help,
        }, cancellationToken);
    }
}

/// <summary>Prints warnings and worse; remembers whether the token ever reached a log line.</summary>
internal sealed class ConsoleWarningLoggerFactory : ILoggerFactory
{
    private int _warnings;

    public int Warnings => Volatile.Read(ref _warnings);

    public bool SawToken { get; private set; }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(ConsoleWarningLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + (exception is null ? "" : " | " + exception.Message);
            if (text.Contains(FakeDiscordServer.Token, StringComparison.Ordinal))
            {
                owner.SawToken = true;
            }

            if (logLevel >= LogLevel.Warning)
            {
                Interlocked.Increment(ref owner._warnings);
                if (logLevel >= LogLevel.Error)
                {
                    Console.Error.WriteLine($"{logLevel}: {text}");
                }
            }
        }
    }
}
