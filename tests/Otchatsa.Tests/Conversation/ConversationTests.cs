using Microsoft.Extensions.Time.Testing;
using Otchatsa.Bot.State;
using Otchatsa.Bot.Telegram;
using Otchatsa.Cli.Commands;
using Otchatsa.Conversation;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types;

namespace Otchatsa.Tests.Conversation;

public sealed class ConversationTests
{
    private static readonly ChatKey Chat = new("test", "1");

    private static OtchatsaConversation NewConversation() => new(DemoIndex.Runtime, new InMemoryChatPreferences());

    [Theory]
    [InlineData("/style romantic", CommandParse.ForThisBot, "style", "romantic")]
    [InlineData("/Style@Otchatsa_Bot  로맨틱 ", CommandParse.ForThisBot, "style", "로맨틱")]
    [InlineData("/style@otherbot romantic", CommandParse.ForAnotherBot, null, null)]
    [InlineData("hello /style", CommandParse.NotACommand, null, null)]
    [InlineData("/", CommandParse.NotACommand, null, null)]
    public void Commands_are_parsed_with_the_bot_suffix_checked(string text, CommandParse expected, string? name, string? argument)
    {
        var parse = ParsedCommand.TryParse(text, "otchatsa_bot", out var command);
        Assert.Equal(expected, parse);
        if (name is not null)
        {
            Assert.Equal(new ParsedCommand(name, argument!), command);
        }
    }

    [Fact]
    public void A_product_shot_is_answered_as_not_an_outfit_with_three_malls_and_nine_items()
    {
        var reply = NewConversation().AnswerPhoto(File.ReadAllBytes(DemoIndex.QueryImage), new ChatContext(Chat, ChatLanguage.En));

        Assert.Equal(ReplyKind.Recommendation, reply.Kind);
        Assert.Contains("doesn't look like an outfit photo", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Style:", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("couldn't find a person", reply.Text, StringComparison.Ordinal);
        // Known from the fixture, not from the engine: the demo's query photo is a held-out Ankle boot
        // (DemoCatalogOptions.QueryClass = 9) and demo-shoes is the only demo mall that sells ankle boots.
        Assert.Contains("Malls with this vibe:\n1. demo-shoes — ", reply.Text, StringComparison.Ordinal);
        Assert.Contains("3. demo-", reply.Text, StringComparison.Ordinal);
        Assert.Equal(9, reply.Images.Count);
        Assert.All(reply.Images, i => Assert.Matches(@"^demo-[a-z]+ · .+ · [\d,]+", i.Caption!));
        Assert.StartsWith("demo-shoes · Ankle boot #", reply.Images[0].Caption, StringComparison.Ordinal);
        Assert.Equal(3, reply.Links.Count);
        Assert.Equal(new ChatLink("demo-shoes", "https://demo-shoes.example.invalid/"), reply.Links[0]);
        Assert.Equal(3, reply.Links.Select(l => l.Label).Distinct().Count());
        Assert.Null(reply.Collage);
    }

    [Fact]
    public void Korean_replies_and_the_collage_layout_come_from_the_same_core()
    {
        var reply = NewConversation().AnswerPhoto(File.ReadAllBytes(DemoIndex.QueryImage), new ChatContext(Chat, ChatLanguage.Ko, ReplyLayout.Collage));

        Assert.Contains("이 분위기의 쇼핑몰", reply.Text, StringComparison.Ordinal);
        Assert.Empty(reply.Images);
        Assert.NotNull(reply.Collage);
    }

    [Theory]
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46, 0x2D, 0x31 }, "unsupported_format", "doesn't look like an image")]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 1, 2 }, "corrupt", "couldn't read")]
    public void Bad_photos_get_one_short_polite_reply(byte[] bytes, string code, string phrase)
    {
        var reply = NewConversation().AnswerPhoto(bytes, new ChatContext(Chat, ChatLanguage.En));

        Assert.Equal(ReplyKind.Problem, reply.Kind);
        Assert.Contains(phrase, reply.Text, StringComparison.Ordinal);
        Assert.Equal(code, reply.ErrorCode);
    }

    [Fact]
    public void Styles_are_listed_by_parent_and_lang_is_remembered_per_chat()
    {
        var conversation = NewConversation();
        var list = conversation.AnswerCommand(new ParsedCommand("styles", ""), new ChatContext(Chat, ChatLanguage.En));
        Assert.Contains("Feminine (페미닌): ", list.Text, StringComparison.Ordinal);
        Assert.Contains("Romantic (로맨틱)", list.Text, StringComparison.Ordinal);

        var set = conversation.AnswerCommand(new ParsedCommand("lang", "ko"), new ChatContext(Chat, ChatLanguage.En));
        Assert.Contains("한국어", set.Text, StringComparison.Ordinal);
        Assert.Equal(ChatLanguage.Ko, conversation.LanguageFor(Chat, "en"));
        Assert.Equal(ChatLanguage.En, conversation.LanguageFor(new ChatKey("test", "2"), "en-US"));
        Assert.Equal(ChatLanguage.Ko, conversation.LanguageFor(new ChatKey("test", "3"), "ko"));

        var unknown = conversation.AnswerCommand(new ParsedCommand("style", "no-such-style"), new ChatContext(Chat, ChatLanguage.En));
        Assert.Contains("I don't know a style called 'no-such-style'", unknown.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Styles_lists_all_23_with_the_examples_the_head_learnt_from()
    {
        var info = (Otchatsa.Styles.IStyleHeadInfo)DemoIndex.Runtime.Recommender.Classifier;
        var list = NewConversation().AnswerCommand(new ParsedCommand("styles", ""), new ChatContext(Chat, ChatLanguage.En)).Text;

        Assert.Contains("Styles I can recognise (23 of 23)", list, StringComparison.Ordinal);
        foreach (var style in Otchatsa.Styles.StyleTaxonomy.All)
        {
            Assert.Contains($"{style.NameEn} ({style.NameKo}) {info.Examples[style.Id]}", list, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_one_of_the_23_styles_is_explained_with_its_malls_or_none_yet()
    {
        var conversation = NewConversation();
        var index = DemoIndex.Runtime.Index;
        foreach (var style in Otchatsa.Styles.StyleTaxonomy.All)
        {
            var reply = conversation.AnswerCommand(new ParsedCommand("style", style.NameKo), new ChatContext(Chat, ChatLanguage.En));

            Assert.Equal(ReplyKind.StyleLookup, reply.Kind);
            Assert.Contains(style.DescriptionEn, reply.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("cannot recognise this style", reply.Text, StringComparison.Ordinal);
            var carried = index.Malls.Values.Any(m => m.Share(style.Id) > 0);
            if (carried)
            {
                Assert.Contains("Malls that carry it:", reply.Text, StringComparison.Ordinal);
                Assert.NotNull(reply.Collage);
            }
            else
            {
                Assert.Contains("No mall in this catalog carries it yet.", reply.Text, StringComparison.Ordinal);
            }
        }
    }

    [SkippableFact]
    public void An_outfit_the_head_is_unsure_of_is_answered_with_candidates_not_a_verdict()
    {
        var root = Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "kfashion23");
        Skip.IfNot(File.Exists(Path.Combine(root, "manifest.csv")), "The 23-style K-Fashion sample (../shared/data/kfashion23) is not on this machine.");
        var photo = Directory.GetFiles(Path.Combine(root, "images"), "*.jpg").Order(StringComparer.Ordinal).First();
        var result = DemoIndex.Runtime.Recommender.Recommend(File.ReadAllBytes(photo), Recommending.Strategies.Create(null));
        Skip.If(result.Recommendation.NotAnOutfit || !result.Recommendation.Unsure, "This photo got a confident answer.");

        var reply = NewConversation().Describe(result, new ChatContext(Chat, ChatLanguage.En));

        Assert.Contains("I'm not sure of the style. Candidates: ", reply.Text, StringComparison.Ordinal);
        var line = reply.Text.Split('\n').Single(l => l.StartsWith("I'm not sure", StringComparison.Ordinal));
        Assert.Equal(3, line.Split(" · ").Length);
        Assert.DoesNotContain("sure ·", reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_console_chat_answers_image_paths_and_commands_as_text()
    {
        var output = new StringWriter();
        var chat = new ConsoleChat(NewConversation(), new ChatKey("console", "1"), output, saveDirectory: null);

        chat.Say(DemoIndex.QueryImage);
        chat.Say("/style romantic");
        chat.Say("/no/such/file.jpg");

        var text = output.ToString();
        Assert.Contains("Malls with this vibe:", text, StringComparison.Ordinal);
        Assert.Contains("item 9: demo-", text, StringComparison.Ordinal);
        Assert.Contains("[demo-", text, StringComparison.Ordinal);
        Assert.Contains("Romantic (로맨틱)", text, StringComparison.Ordinal);
        Assert.Contains("does not exist", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rate_limiter_refuses_past_the_burst_and_says_how_long_to_wait()
    {
        var time = new FakeTimeProvider();
        var limiter = new ChatRateLimiter(new RateLimitOptions { UserBurst = 2, UserRefill = TimeSpan.FromSeconds(10), ChatBurst = 3, ChatRefill = TimeSpan.FromSeconds(30) }, time);

        Assert.True(limiter.TryAcquire("u1", "c", out _));
        Assert.True(limiter.TryAcquire("u1", "c", out _));
        Assert.False(limiter.TryAcquire("u1", "c", out var wait));
        Assert.Equal(TimeSpan.FromSeconds(10), wait);
        Assert.True(limiter.TryAcquire("u2", "c", out _));
        Assert.False(limiter.TryAcquire("u3", "c", out var chatWait));
        Assert.Equal(TimeSpan.FromSeconds(30), chatWait);

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(limiter.TryAcquire("u1", "c", out _));
    }

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
                store.SetSentParts(id, 1);
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

    private static MessageEntity[]? Mentions(string? text) => text is null
        ? null
        : System.Text.RegularExpressions.Regex.Matches(text, @"@\w+")
            .Select(m => new MessageEntity { Type = MessageEntityType.Mention, Offset = m.Index, Length = m.Length })
            .ToArray();

    [Fact]
    public void Group_routing_acts_only_when_addressed()
    {
        var me = new TelegramBotIdentity(42, "otchatsa_bot");
        Message Msg(ChatType type, string? text = null, bool photo = false, Message? replyTo = null) => new()
        {
            Id = 1,
            Chat = new Chat { Id = -5, Type = type },
            From = new User { Id = 9, FirstName = "u" },
            Text = photo ? null : text,
            Caption = photo ? text : null,
            Entities = photo ? null : Mentions(text),
            CaptionEntities = photo ? Mentions(text) : null,
            Photo = photo ? [new PhotoSize { FileId = "f", FileUniqueId = "f", Width = 1, Height = 1, FileSize = 10 }] : null,
            ReplyToMessage = replyTo,
        };
        TelegramAction? Route(Message m) => TelegramUpdateRouter.Route(new Update { Id = 1, Message = m }, me, 20 << 20)?.Action;
        var botMessage = new Message { Id = 2, Chat = new Chat { Id = -5, Type = ChatType.Group }, From = new User { Id = 42, IsBot = true, FirstName = "b" } };

        Assert.Null(Route(Msg(ChatType.Group, photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "look", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "/style@other", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "/unknown")));
        Assert.Null(Route(Msg(ChatType.Channel, "/style", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "/style", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "hey @otchatsa_bot", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "hey @otchatsa_bot2", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, photo: true, replyTo: botMessage)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "/style", replyTo: Msg(ChatType.Group, photo: true))));
        Assert.Equal(TelegramAction.Command, Route(Msg(ChatType.Supergroup, "/style@otchatsa_bot romantic")));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Private, photo: true)));
        Assert.Equal(TelegramAction.Text, Route(Msg(ChatType.Private, "hi")));
    }
}
