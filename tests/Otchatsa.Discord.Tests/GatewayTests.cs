using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Gateway;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

public sealed class GatewayTests
{
    private static readonly TimeSpan Budget = DiscordHarness.Budget;

    [Fact]
    public async Task Identify_carries_the_configured_intents_token_and_properties()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.Intents = GatewayIntents.Default | GatewayIntents.MessageContent);
        await h.WaitReadyAsync();

        var first = h.Fake.Connections[0];
        Assert.Equal("/gateway", first.Path);
        Assert.Contains("v=10", first.Query, StringComparison.Ordinal);
        Assert.Contains("encoding=json", first.Query, StringComparison.Ordinal);
        var identify = Assert.Single(first.Ops(2));
        Assert.Equal(37377, (int)identify["d"]!["intents"]!);
        Assert.Equal(FakeDiscordServer.Token, (string?)identify["d"]!["token"]);
        Assert.Equal("otchatsa", (string?)identify["d"]!["properties"]!["browser"]);
        Assert.NotNull(identify["d"]!["properties"]!["os"]);
        Assert.NotNull(identify["d"]!["properties"]!["device"]);
    }

    [Fact]
    public void Default_intents_leave_out_the_privileged_message_content_intent()
    {
        Assert.Equal(1 | 1 << 9 | 1 << 12, (int)GatewayIntents.Default);
        Assert.Equal(GatewayIntents.Default, new DiscordClientOptions().Intents);
    }

    [Fact]
    public async Task Withheld_acks_close_with_a_non_1000_code_and_resume_with_the_same_session_and_last_sequence()
    {
        await using var h = await DiscordHarness.StartAsync(configureFake: f => f.HeartbeatIntervalMs = 250);
        await h.WaitReadyAsync();
        var session = h.Fake.SessionId;
        await h.Fake.DispatchAsync("TYPING_START", new JsonObject { ["channel_id"] = "1" });
        var lastSeq = await h.Fake.DispatchAsync("TYPING_START", new JsonObject { ["channel_id"] = "1" });
        await h.Fake.WaitUntilAsync(() => h.Bot.Gateway.Sequence == lastSeq, Budget, "client saw the last dispatch");

        h.Fake.WithholdAcks = true;
        await h.Fake.WaitUntilAsync(() => h.Fake.Connections[0].ClientCloseCode is not null, Budget, "client closes the zombie");
        h.Fake.WithholdAcks = false;

        Assert.NotEqual(1000, h.Fake.Connections[0].ClientCloseCode);
        Assert.NotEqual(1001, h.Fake.Connections[0].ClientCloseCode);
        await h.Fake.WaitUntilAsync(() => h.Bot.Gateway.Statistics.Resumed == 1, Budget, "RESUMED");
        var second = h.Fake.Connections[1];
        Assert.Equal("/resume", second.Path);
        var resume = Assert.Single(second.Ops(6));
        Assert.Equal(session, (string?)resume["d"]!["session_id"]);
        Assert.Equal(lastSeq, (int)resume["d"]!["seq"]!);
        Assert.Empty(second.Ops(2));
        Assert.Equal(1, h.Bot.Gateway.Statistics.ZombieConnections);
        Assert.Equal(1, h.Fake.IdentifyCount);
    }

    [Fact]
    public async Task Op7_reconnects_to_the_resume_url_resumes_and_replays_missed_events_once()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();
        var session = h.Fake.SessionId;

        await h.Fake.SendOpAsync(7);
        // Sent while the client is reconnecting: it must arrive through the resume replay.
        await h.Fake.DispatchAsync("MESSAGE_CREATE", FakeEvents.Message("500000000000000009", null,
            FakeEvents.User("600000000000000009", "alice"), "hello"));

        await h.Fake.WaitUntilAsync(() => h.Bot.Gateway.Statistics.Resumed == 1, Budget, "RESUMED after op 7");
        await h.Fake.WaitUntilAsync(() => h.Handlers.Messages.Count == 1, Budget, "replayed message handled");
        Assert.NotEqual(1000, h.Fake.Connections[0].ClientCloseCode);
        Assert.Equal("/resume", h.Fake.Connections[1].Path);
        Assert.Equal(session, (string?)h.Fake.Connections[1].Ops(6)[0]["d"]!["session_id"]);
        Assert.Equal(1, h.Fake.IdentifyCount);
        Assert.Single(h.Handlers.Messages);
    }

    [Fact]
    public async Task Op9_true_resumes_the_session()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();

        await h.Fake.InvalidateSessionAsync(resumable: true);

        await h.Fake.WaitUntilAsync(() => h.Bot.Gateway.Statistics.Resumed == 1, Budget, "RESUMED after op 9 true");
        Assert.Equal(1, h.Fake.IdentifyCount);
        Assert.Equal(1, h.Fake.ResumeCount);
        Assert.Equal("/resume", h.Fake.Connections[1].Path);
    }

    [Fact]
    public async Task Op9_false_identifies_a_new_session_without_trying_to_resume()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();
        var first = h.Fake.SessionId;

        await h.Fake.InvalidateSessionAsync(resumable: false);

        await h.WaitReadyAsync(2);
        Assert.Equal(2, h.Fake.IdentifyCount);
        Assert.Equal(0, h.Fake.ResumeCount);
        Assert.Equal("/gateway", h.Fake.Connections[1].Path);
        Assert.NotEqual(first, h.Fake.SessionId);
        Assert.Equal(h.Fake.SessionId, h.Bot.Gateway.SessionId);
    }

    [Theory]
    [InlineData(4007)]
    [InlineData(4009)]
    public async Task Closes_that_end_the_session_lead_to_a_new_identify(int code)
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();

        await h.Fake.CloseCurrentAsync(code);

        await h.WaitReadyAsync(2);
        Assert.Equal(2, h.Fake.IdentifyCount);
        Assert.Equal(0, h.Fake.ResumeCount);
    }

    [Theory]
    [InlineData(4000)]
    [InlineData(null)]
    public async Task Resumable_closes_and_drops_resume(int? code)
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();

        if (code is { } c)
        {
            await h.Fake.CloseCurrentAsync(c);
        }
        else
        {
            h.Fake.DropCurrent();
        }

        await h.Fake.WaitUntilAsync(() => h.Bot.Gateway.Statistics.Resumed == 1, Budget, "RESUMED");
        Assert.Equal(1, h.Fake.IdentifyCount);
    }

    [Theory]
    [InlineData(4004, "BotToken")]
    [InlineData(4014, "Message Content")]
    public async Task Fatal_close_codes_stop_the_client_without_reconnecting(int code, string hint)
    {
        await using var h = await DiscordHarness.StartAsync(configureFake: f => f.CloseOnIdentify = code);

        var fatal = await Assert.ThrowsAsync<GatewayFatalException>(() => h.Run.WaitAsync(Budget));

        Assert.Equal(code, fatal.CloseCode);
        Assert.Single(h.Fake.Connections);
        Assert.Equal(1, h.Bot.Gateway.Statistics.Connections);
        Assert.Contains(h.Logs.Lines, l => l.Level == LogLevel.Critical && l.Text.Contains(hint, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejected_token_stops_before_any_gateway_connection()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.BotToken = "wrong-token");

        await Assert.ThrowsAsync<GatewayFatalException>(() => h.Run.WaitAsync(Budget));

        Assert.Empty(h.Fake.Connections);
        Assert.DoesNotContain("wrong-token", h.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_heartbeat_request_is_answered_at_once()
    {
        await using var h = await DiscordHarness.StartAsync(configureFake: f => f.HeartbeatIntervalMs = 60_000);
        await h.WaitReadyAsync();
        var before = h.Fake.Connections[0].Ops(1).Count;

        await h.Fake.SendOpAsync(1);

        await h.Fake.WaitUntilAsync(() => h.Fake.Connections[0].Ops(1).Count > before, Budget, "heartbeat answer");
        Assert.Equal(h.Bot.Gateway.Sequence, (int?)h.Fake.Connections[0].Ops(1)[^1]["d"]);
    }
}
