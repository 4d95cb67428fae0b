using Otchatsa.Bot.State;
using Otchatsa.Bot.Telegram;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Telegram;

/// <summary>
/// The start-up warm-up of the at-least-once window (Telegram stored a reply part → the worker committed it): it runs
/// before pending jobs resume, so it must parse what a send returns and leave every stored job exactly as it was —
/// a resumed job still skips the parts it had sent and sends the rest.
/// </summary>
public sealed class ReplyPathWarmUpTests
{
    [Fact]
    public void The_warm_up_parses_a_sent_message_and_an_album_and_changes_no_job()
    {
        using var folder = new TempFolder();
        using var db = StateDatabase.Open(folder.File("s.db"));
        var outbox = new JobOutbox(db);
        var jobs = outbox.Accept("telegram", [new NewChatJob("1", "c", "{}"), new NewChatJob("2", "c", "{}")], 3);
        outbox.SetSentParts(jobs[0].Id, 1, of: 2);

        Assert.Equal(2, TelegramJobHandler.WarmUpReplyPath(outbox));

        Assert.Equal(1, outbox.SentParts(jobs[0].Id));
        Assert.Equal(0, outbox.SentParts(jobs[1].Id));
        Assert.Equal([jobs[0].Id, jobs[1].Id], outbox.PendingJobs("telegram").Select(j => j.Id));
        Assert.Equal((2, 0, 0), outbox.Counts("telegram"));
    }
}
