using Otchatsa.Bot.State;
using Otchatsa.Bot.Telegram;
using Otchatsa.Conversation;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.State;

/// <summary>The worker's state file: the job outbox with its poll offsets, chat preferences and gateway sessions.</summary>
public sealed class StateStoreTests
{
    [Fact]
    public void The_store_accepts_an_update_once_and_keeps_it_pending_until_done()
    {
        var folder = Path.Combine(Path.GetTempPath(), "otchatsa-store-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, "s.db");
        try
        {
            using (var db = StateDatabase.Open(path))
            {
                var store = new JobOutbox(db);
                var first = store.Accept("t", [new NewChatJob("7", "c", "{}"), new NewChatJob("8", "c", "{}")], 9);
                Assert.Equal(2, first.Count);
                Assert.Empty(store.Accept("t", [new NewChatJob("7", "c", "{}")], 8));
                Assert.Equal(9, store.GetOffset("t"));
                store.MarkDone(first[0].Id);
            }
            using (var db = StateDatabase.Open(path))
            {
                var reopened = new JobOutbox(db);
                Assert.Equal("8", Assert.Single(reopened.PendingJobs("t")).UpdateKey);
                Assert.Empty(reopened.Accept("t", [new NewChatJob("7", "c", "{}")], null));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_store_remembers_how_much_of_a_reply_was_sent_across_a_restart()
    {
        var folder = Path.Combine(Path.GetTempPath(), "otchatsa-store-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, "s.db");
        try
        {
            long id;
            using (var db = StateDatabase.Open(path))
            {
                var store = new JobOutbox(db);
                id = store.Accept("t", [new NewChatJob("1", "c", "{}")], 2).Single().Id;
                Assert.Equal(0, store.SentParts(id));
                store.SetSentParts(id, 1, of: 2);
            }
            using var again = StateDatabase.Open(path);
            Assert.Equal(1, new JobOutbox(again).SentParts(id));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_state_file_written_by_the_first_schema_opens_with_its_jobs_offset_and_language_intact()
    {
        var folder = Path.Combine(Path.GetTempPath(), "otchatsa-store-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, "s.db");
        Directory.CreateDirectory(folder);
        try
        {
            // The schema of the first release: no jobs.sent_parts, no gateway_sessions.
            using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
            {
                old.Open();
                using var cmd = old.CreateCommand();
                cmd.CommandText = """
                    CREATE TABLE jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, network TEXT NOT NULL, update_key TEXT NOT NULL,
                        chat_id TEXT NOT NULL, payload TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0,
                        accepted_at TEXT NOT NULL, finished_at TEXT, UNIQUE(network, update_key));
                    CREATE INDEX jobs_pending ON jobs(network, status);
                    CREATE TABLE offsets(network TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    CREATE TABLE chat_prefs(chat TEXT PRIMARY KEY, language TEXT);
                    INSERT INTO jobs(network, update_key, chat_id, payload, status, accepted_at)
                        VALUES ('telegram', '41', '5', '{}', 0, '2026-11-30T10:00:00.0000000+00:00');
                    INSERT INTO offsets VALUES ('telegram', 42);
                    INSERT INTO chat_prefs VALUES ('telegram:5', 'ko');
                    """;
                cmd.ExecuteNonQuery();
            }

            using (var db = StateDatabase.Open(path))
            {
                var outbox = new JobOutbox(db);
                var job = Assert.Single(outbox.PendingJobs("telegram"));
                Assert.Equal(("41", "5"), (job.UpdateKey, job.ChatId));
                Assert.Equal(0, outbox.SentParts(job.Id));
                Assert.Equal(42, outbox.GetOffset("telegram"));
                Assert.Empty(outbox.Accept("telegram", [new NewChatJob("41", "5", "{}")], 41));
                Assert.Equal(42, outbox.GetOffset("telegram")); // the offset never goes back
                Assert.Equal(ChatLanguage.Ko, new ChatPreferenceStore(db).GetLanguage(new ChatKey("telegram", "5")));
                var sessions = new GatewaySessionStore(db);
                Assert.Null(sessions.Get("discord"));
                sessions.Save("discord", "s", "wss://resume.example", 3);
            }
            using (var reopened = StateDatabase.Open(path))
            {
                Assert.Equal(3, new GatewaySessionStore(reopened).Get("discord")?.Sequence);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_state_file_that_is_not_a_database_is_refused_with_one_line()
    {
        var folder = Path.Combine(Path.GetTempPath(), "otchatsa-store-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, "s.db");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(path, "not a database, just text that is long enough to fill a header and then some more");
            var ex = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => StateDatabase.Open(path));
            var (code, message) = Otchatsa.Bot.Hosting.BotExitCode.Describe(ex);
            Assert.Equal(Otchatsa.Bot.Hosting.BotExitCode.StartFailed, code);
            Assert.StartsWith("could not start: ", message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
