using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Otchatsa.Bot.Discord;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Otchatsa.Discord.Gateway;
using Otchatsa.FakeDiscord;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Discord;

/// <summary>
/// The gateway session outlives the worker process: a worker stopped after Discord delivered a message but before
/// its job was stored resumes the saved session at the next start, so Discord replays the message.
/// </summary>
public sealed class DiscordSessionResumeTests : IDisposable
{
    private const string Guild = "400000000000000001";
    private const string Channel = "500000000000000002";
    private const string DmChannel = "500000000000000778";
    private static readonly TimeSpan Budget = DiscordHostRunner.Budget;
    private static readonly JsonObject Alice = FakeEvents.User("600000000000000009", "alice");
    private static readonly JsonObject Me = FakeEvents.User(FakeDiscordServer.BotUserId, "otchatsa", bot: true);

    private readonly TempFolder _stateDir = new("otchatsa-bot-tests-");

    private string StatePath => _stateDir.File("bot.db");

    private Dictionary<string, string?> Settings => new() { ["Otchatsa:StatePath"] = StatePath };

    public void Dispose() => _stateDir.Dispose();

    private static IReadOnlyList<RecordedRequest> Posts(FakeDiscordServer fake, string channel) =>
        fake.Requests.Where(r => r.Method == "POST" && r.Path == $"channels/{channel}/messages").ToArray();

    private static JsonObject PhotoMessage(FakeDiscordServer fake)
    {
        var photo = File.ReadAllBytes(DemoIndex.QueryImage);
        var url = fake.AddCdnFile($"attachments/{FakeEvents.NextId()}/look.png", photo, "image/png");
        return FakeEvents.Message(Channel, Guild, Alice, $"<@{FakeDiscordServer.BotUserId}> what style?", [Me],
            [FakeEvents.Attachment(FakeEvents.NextId(), "look.png", url, photo.Length, "image/png")]);
    }

    [Fact]
    public async Task A_message_delivered_to_a_worker_stopped_before_storing_it_is_replayed_to_the_next_worker_and_answered_once()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var message = PhotoMessage(fake);
        var messageId = (string)message["id"]!;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (var first = await DiscordHostRunner.StartAsync(fake, Settings))
        {
            await first.WaitReadyAsync(fake);
            // A handled event before the lost one: the saved sequence is past it, so it is not replayed.
            await fake.DispatchAsync("MESSAGE_CREATE", FakeEvents.Message(DmChannel, null, Alice, "hi"));
            await fake.WaitUntilAsync(() => Posts(fake, DmChannel).Count >= 1, Budget, "the DM hint");
            // Its job is marked done only after the reply's response came back: wait for that too, or a loaded
            // machine stops the worker in between and the outbox still (rightly) holds the job as pending.
            var outbox = first.Host.Services.GetRequiredService<JobOutbox>();
            await fake.WaitUntilAsync(() => outbox.Counts(DiscordJobHandler.NetworkName) == (0, 1, 0), Budget, "the DM hint's job done");

            // The crash window: the worker has the event, its job is not stored yet, and it never will be.
            first.Host.Services.GetRequiredService<DiscordIntakeHook>().BeforeStore = async (request, ct) =>
            {
                if (request.MessageId == messageId)
                {
                    reached.TrySetResult();
                    await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                }
            };
            await fake.DispatchAsync("MESSAGE_CREATE", message);
            await reached.Task.WaitAsync(Budget);
        } // stopped abruptly (cancelled shutdown): the blocked intake never stores the job

        using (var db = StateDatabase.Open(StatePath))
        {
            Assert.Equal((0, 1, 0), new JobOutbox(db).Counts(DiscordJobHandler.NetworkName)); // only the DM's job
        }
        Assert.Empty(Posts(fake, Channel));

        await using var second = await DiscordHostRunner.StartAsync(fake, Settings);
        await fake.WaitUntilAsync(() => Posts(fake, Channel).Count >= 1 && second.Bot.Gateway.Statistics.Resumed >= 1,
            Budget, "the replayed message's reply and RESUMED");
        await second.StopAsync(); // drains the queue: a second reply would have been sent by now

        var reply = Assert.Single(Posts(fake, Channel));
        Assert.Equal(messageId, (string?)reply.Json!["message_reference"]!["message_id"]);
        Assert.Single(Posts(fake, DmChannel));
        var stats = second.Bot.Gateway.Statistics;
        Assert.Equal((0, 1, 1), (stats.Identifies, stats.Resumes, stats.Resumed));
        Assert.Contains("resuming the gateway session saved", second.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_sent_while_the_worker_restarts_is_replayed_by_the_resumed_session_and_answered_once()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var settings = Settings;
        settings["Discord:Gateway:CloseTimeout"] = "00:00:05"; // the runner's 0.5 s could drop a slow close frame
        await using (var first = await DiscordHostRunner.StartAsync(fake, settings))
        {
            await first.WaitReadyAsync(fake);
            await first.StopAsync(); // graceful: systemd's stop before a restart
        }
        // It closed with 4000, not 1000: Discord keeps the session (the fake, like Discord, ends it on 1000).
        Assert.Equal(GatewayClient.ResumableCloseCode, fake.Connections[0].ClientCloseCode);
        await fake.WaitUntilAsync(() => !fake.HasLiveConnection, Budget, "the first worker's connection ended");
        Assert.True(fake.SessionActive);

        // Sent while no worker runs: only the resume's replay can bring it to the next one.
        var message = PhotoMessage(fake);
        await fake.DispatchAsync("MESSAGE_CREATE", message);

        await using var second = await DiscordHostRunner.StartAsync(fake, Settings);
        await fake.WaitUntilAsync(() => Posts(fake, Channel).Count >= 1 && second.Bot.Gateway.Statistics.Resumed >= 1,
            Budget, "the replayed message's reply and RESUMED");
        await second.StopAsync();

        var reply = Assert.Single(Posts(fake, Channel));
        Assert.Equal((string)message["id"]!, (string?)reply.Json!["message_reference"]!["message_id"]);
        var stats = second.Bot.Gateway.Statistics;
        Assert.Equal((0, 1, 1, 0), (stats.Identifies, stats.Resumes, stats.Resumed, stats.InvalidSessions));
        Assert.Equal(1, fake.IdentifyCount);
    }

    [Fact]
    public async Task A_saved_session_older_than_the_resume_window_is_not_resumed_and_the_worker_identifies()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow - DiscordFrontEnd.ResumeWindow - TimeSpan.FromSeconds(1));
        using (var db = StateDatabase.Open(StatePath, time))
        {
            new GatewaySessionStore(db).Save(DiscordJobHandler.NetworkName, "old-session", $"ws://{fake.BaseUrl.Authority}/resume?v=10&encoding=json", 7);
        }

        await using var bot = await DiscordHostRunner.StartAsync(fake, Settings);
        await bot.WaitReadyAsync(fake);

        var stats = bot.Bot.Gateway.Statistics;
        Assert.Equal((1, 0), (stats.Identifies, stats.Resumes));
        Assert.Contains("identifying a new one", bot.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_recent_saved_session_that_discord_refuses_ends_in_a_new_identify()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using (var db = StateDatabase.Open(StatePath, time))
        {
            new GatewaySessionStore(db).Save(DiscordJobHandler.NetworkName, "unknown-session", $"ws://{fake.BaseUrl.Authority}/resume?v=10&encoding=json", 7);
        }

        var settings = Settings;
        settings["Discord:Gateway:InvalidSessionMinDelay"] = "00:00:00.010";
        settings["Discord:Gateway:InvalidSessionMaxDelay"] = "00:00:00.020";
        await using var bot = await DiscordHostRunner.StartAsync(fake, settings);
        await bot.WaitReadyAsync(fake);

        var stats = bot.Bot.Gateway.Statistics;
        Assert.Equal((1, 1, 1), (stats.Resumes, stats.InvalidSessions, stats.Identifies));
    }
}
