using Otchatsa.FakeTelegram;
using System.Diagnostics;
using Otchatsa.Tests.Support;
using Xunit.Abstractions;

namespace Otchatsa.Tests.Telegram;

/// <summary>
/// Load run, not a unit test: 200 photo updates from 50 users through the fake Bot API into the real worker.
/// Runs only with <c>OTCHATSA_BENCH=1</c>:
/// <c>OTCHATSA_BENCH=1 dotnet test tests/Otchatsa.Bot.Tests --filter TelegramLoadBenchmark --logger "console;verbosity=detailed"</c>.
/// </summary>
public sealed class TelegramLoadBenchmark(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Two_hundred_photos_from_fifty_users_are_each_answered_exactly_once()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("OTCHATSA_BENCH") == "1", "Set OTCHATSA_BENCH=1 to run the load benchmark.");
        const int users = 50, perUser = 4;
        var photos = Directory.GetFiles(Path.GetDirectoryName(DemoIndex.Manifest)!, "*.png", SearchOption.AllDirectories)
            .Select(File.ReadAllBytes).ToArray();
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake, settings: new Dictionary<string, string?>
        {
            ["Otchatsa:RateLimit:UserBurst"] = perUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Otchatsa:RateLimit:ChatBurst"] = perUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await fake.WaitForAsync(c => c.Any(x => x.Method == "setMyCommands"), what: "start-up");

        using var sampling = new CancellationTokenSource();
        long peakWorkingSet = 0;
        var sampler = Task.Run(async () =>
        {
            using var process = Process.GetCurrentProcess();
            while (!sampling.IsCancellationRequested)
            {
                process.Refresh();
                peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
                try
                {
                    await Task.Delay(50, sampling.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var sentAt = new Dictionary<int, long>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < users * perUser; i++)
        {
            long user = 10_000 + (i % users);
            var message = fake.PhotoMessage(user, user, photos[i % photos.Length]);
            sentAt[message.Id] = clock.ElapsedTicks;
            fake.Enqueue(message);
        }
        var answered = new Dictionary<int, long>();
        await fake.WaitForAsync(calls =>
        {
            foreach (var call in calls.Where(c => c.Method == "sendMessage" && c.Ok))
            {
                var id = (int)call.Json("reply_parameters")!["message_id"]!;
                answered.TryAdd(id, clock.ElapsedTicks);
            }
            return answered.Count >= sentAt.Count;
        }, TimeSpan.FromMinutes(5), "all answers");
        var wall = clock.Elapsed;
        await bot.StopAsync();
        await sampling.CancelAsync();
        await sampler;

        var texts = fake.Calls.Where(c => c.Method == "sendMessage" && c.Ok).GroupBy(c => (int)c.Json("reply_parameters")!["message_id"]!).ToArray();
        var albums = fake.Calls.Where(c => c.Method == "sendMediaGroup" && c.Ok).GroupBy(c => (int)c.Json("reply_parameters")!["message_id"]!).ToArray();
        var busy = texts.Count(g => g.First().Text.Contains("busy", StringComparison.Ordinal));
        var latencies = sentAt.Keys.Select(id => (answered[id] - sentAt[id]) * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];

        output.WriteLine($"updates {sentAt.Count}, answered {texts.Length}, lost {sentAt.Count - texts.Length}, duplicated texts {texts.Count(g => g.Count() > 1)}, " +
                         $"albums {albums.Length}, duplicated albums {albums.Count(g => g.Count() > 1)}, busy {busy}");
        output.WriteLine($"reply latency p50 {P(0.50):F0} ms, p95 {P(0.95):F0} ms, max {latencies[^1]:F0} ms; wall {wall.TotalSeconds:F1} s ({sentAt.Count / wall.TotalSeconds:F1} photos/s)");
        output.WriteLine($"peak working set {peakWorkingSet / (1024.0 * 1024):F0} MB (test process: worker + fake + test host)");
        output.WriteLine("sample answer:\n" + texts[0].First().Text);

        Assert.Equal(sentAt.Count, texts.Length);
        Assert.All(texts, g => Assert.Single(g));
        Assert.All(albums, g => Assert.Single(g));
        Assert.Equal(0, busy);
    }
}
