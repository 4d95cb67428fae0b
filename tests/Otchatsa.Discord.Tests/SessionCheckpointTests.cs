using Otchatsa.Discord.Gateway;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

/// <summary>The (session, sequence) a restarted worker can resume from, and what a replay may still start.</summary>
public sealed class SessionCheckpointTests
{
    private static readonly TimeSpan Budget = DiscordHarness.Budget;

    [Fact]
    public async Task The_checkpoint_stays_before_a_message_whose_handler_has_not_returned_and_advances_when_it_does()
    {
        await using var h = await DiscordHarness.StartAsync(run: false);
        GatewayCheckpoint? last = null;
        h.Bot.Checkpoint += c => Volatile.Write(ref last, c);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Handlers.OnMessage = (context, _) => context.Message.Content == "slow" ? release.Task : Task.CompletedTask;
        h.Start();
        await h.WaitReadyAsync();
        var alice = FakeEvents.User("600000000000000009", "alice");

        var slow = await h.Fake.DispatchAsync("MESSAGE_CREATE", FakeEvents.Message("500000000000000009", null, alice, "slow"));
        var fast = await h.Fake.DispatchAsync("MESSAGE_CREATE", FakeEvents.Message("500000000000000009", null, alice, "fast"));
        await h.Fake.WaitUntilAsync(() => h.Handlers.Messages.Count == 2, Budget, "both handlers started");
        await h.Fake.WaitUntilAsync(() => Volatile.Read(ref last) is not null, Budget, "a checkpoint");
        Assert.Equal(slow - 1, Volatile.Read(ref last)!.Sequence);
        Assert.Equal(h.Bot.Gateway.SessionId, last!.SessionId);
        Assert.Equal("/resume", last.ResumeGatewayUrl.AbsolutePath);

        release.SetResult();
        await h.Fake.WaitUntilAsync(() => Volatile.Read(ref last)!.Sequence == fast, Budget, "checkpoint past both");
    }

    [Fact]
    public async Task A_new_client_restored_from_a_checkpoint_resumes_and_ignores_a_replayed_interaction_older_than_the_callback_window()
    {
        // A close timeout a loaded machine cannot outlast: the close frame asserted below must not be dropped.
        await using var h = await DiscordHarness.StartAsync(o => o.Gateway.CloseTimeout = TimeSpan.FromSeconds(5));
        await h.WaitReadyAsync();
        var (session, url, sequence) = (h.Bot.Gateway.SessionId!, h.Bot.Gateway.ResumeGatewayUrl!, h.Bot.Gateway.Sequence!.Value);
        await h.StopBotAsync();
        // Stopping closed with 4000: with 1000 Discord (and the fake) would have ended the session.
        Assert.Equal(GatewayClient.ResumableCloseCode, h.Fake.Connections[0].ClientCloseCode);
        Assert.Equal(0, h.Fake.SessionsInvalidated);

        // Delivered while no client is connected: they reach the next client only through the resume replay.
        var stale = FakeEvents.SnowflakeAt(DateTimeOffset.UtcNow - TimeSpan.FromSeconds(10));
        var fresh = FakeEvents.SnowflakeAt(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30)); // within the window however slow the run
        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Help, interactionId: stale));
        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Help, interactionId: fresh));

        var handlers = new RecordingHandlers();
        var next = DiscordBot.Create(h.Options, TestCommands.Build(DiscordHarness.TestStyles), handlers, handlers, TestContentCheck.JpegOnly, h.Logs);
        next.Gateway.RestoreSession(session, url, sequence);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => next.RunAsync(stop.Token));
        try
        {
            await h.Fake.WaitUntilAsync(() => next.Gateway.Statistics.Resumed == 1, Budget, "RESUMED");
            await h.Fake.WaitUntilAsync(() => handlers.Interactions.Count >= 1, Budget, "the fresh interaction");
            Assert.Equal(fresh, Assert.Single(handlers.Interactions).Interaction.Id);
            Assert.Equal((0, 1), (next.Gateway.Statistics.Identifies, next.Gateway.Statistics.Resumes));
            Assert.Contains(h.Logs.Lines, l => l.Text.Contains(stale, StringComparison.Ordinal) && l.Text.Contains("3 s callback window", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }
}
