using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Otchatsa.Bot.Hosting;
using Otchatsa.FakeTelegram;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Telegram;

/// <summary>The instruments are process-wide: these tests run alone, so the deltas they read are their own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics (runs alone)";
}

[Collection(MetricsCollection.Name)]
public sealed partial class MetricsTests
{
    private const long User = 801;

    private static readonly Dictionary<string, string?> Enabled = new()
    {
        ["Metrics:Enabled"] = "true",
        ["Metrics:Urls"] = "http://127.0.0.1:0",
    };

    [Fact]
    public async Task The_metrics_endpoint_shows_a_real_job_accepted_answered_timed_and_a_refusal_by_reason()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake, settings: Enabled);
        using var http = new HttpClient { BaseAddress = new Uri(Endpoint(bot)) };
        var before = await ScrapeAsync(http);

        fake.Enqueue(fake.PhotoMessage(User, User, File.ReadAllBytes(DemoIndex.QueryImage)));
        fake.Enqueue(fake.PhotoMessage(User + 1, User + 1, File.ReadAllBytes(DemoIndex.QueryImage), declaredSize: 25L * 1024 * 1024));
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User)
                                         && calls.Any(c => c.Method == "sendMessage" && c.ChatId == User + 1), what: "both replies");
        // The job is counted after its last message was sent: the scrape may briefly race the worker.
        var after = await ScrapeUntilAsync(http, s => Value(s, "otchatsa_jobs_answered_total", "network=\"telegram\"") >= Value(before, "otchatsa_jobs_answered_total", "network=\"telegram\"") + 2);

        double Delta(string name, params string[] labels) => Value(after, name, labels) - Value(before, name, labels);
        Assert.Equal(2, Delta("otchatsa_jobs_accepted_total", "network=\"telegram\""));
        Assert.Equal(2, Delta("otchatsa_jobs_answered_total", "network=\"telegram\""));
        Assert.Equal(0, Delta("otchatsa_jobs_failed_total", "network=\"telegram\""));
        Assert.Equal(1, Delta("otchatsa_photos_rejected_total", "network=\"telegram\"", "reason=\"too_large\""));
        Assert.Equal(2, Delta("otchatsa_job_duration_seconds_count", "network=\"telegram\"", "outcome=\"answered\""));
        Assert.Equal(1, Delta("otchatsa_stage_duration_seconds_count", "network=\"telegram\"", "stage=\"analyze\""));
        Assert.Equal(1, Delta("otchatsa_stage_duration_seconds_count", "network=\"telegram\"", "stage=\"download\""));
        Assert.Equal(2, Delta("otchatsa_stage_duration_seconds_count", "network=\"telegram\"", "stage=\"send\""));
        Assert.Equal(2, Delta("otchatsa_stage_duration_seconds_count", "network=\"telegram\"", "stage=\"queue_wait\""));
        Assert.True(Delta("otchatsa_stage_duration_seconds_sum", "network=\"telegram\"", "stage=\"analyze\"") > 0);
        Assert.Contains("# TYPE otchatsa_queue_depth gauge", after, StringComparison.Ordinal);
        Assert.Equal(0, Value(after, "otchatsa_queue_depth"));
    }

    [Fact]
    public async Task A_retried_request_is_counted_and_healthz_reports_the_engine_and_a_connected_telegram()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.FailNext("getFile", 502);
        await using var bot = await BotHostRunner.StartAsync(fake, settings: Enabled);
        using var http = new HttpClient { BaseAddress = new Uri(Endpoint(bot)) };
        var before = await ScrapeAsync(http);
        fake.Enqueue(fake.PhotoMessage(User, User, File.ReadAllBytes(DemoIndex.QueryImage)));
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the reply");

        var after = await ScrapeAsync(http);
        Assert.Equal(1, Value(after, "otchatsa_send_retries_total", "network=\"telegram\"", "operation=\"getFile\"", "reason=\"http_502\"")
                        - Value(before, "otchatsa_send_retries_total", "network=\"telegram\"", "operation=\"getFile\"", "reason=\"http_502\""));

        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", (string?)body["status"]);
        Assert.True((bool)body["modelLoaded"]!);
        Assert.Equal(DemoIndex.Runtime.Index.Items.Count, (int)body["indexItems"]!);
        Assert.True((bool)body["frontEnds"]!["telegram"]!["connected"]!);
        Assert.Null(body["frontEnds"]!["discord"]);
    }

    [Fact]
    public async Task Healthz_answers_503_while_telegram_has_not_answered_a_poll()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.Hold("getMe");
        await using var bot = await BotHostRunner.StartAsync(fake, settings: Enabled);
        using var http = new HttpClient { BaseAddress = new Uri(Endpoint(bot)) };

        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        fake.Release("getMe");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("degraded", (string?)body["status"]);
        Assert.False((bool)body["frontEnds"]!["telegram"]!["connected"]!);
    }

    private static string Endpoint(BotHostRunner bot) =>
        bot.Host.Services.GetRequiredService<OperationsEndpointService>().Urls.First();

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var scrape = await ScrapeAsync(http);
            if (condition(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }
            await Task.Yield();
        }
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/> (0 when absent).</summary>
    private static double Value(string scrape, string name, params string[] labels) =>
        SampleLine().Matches(scrape)
            .Where(m => m.Groups["name"].Value == name && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[^ \n]+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
