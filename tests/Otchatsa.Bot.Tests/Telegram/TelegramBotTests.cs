using System.Text.Json.Nodes;
using Otchatsa.Bot.State;
using Otchatsa.Bot.Telegram;
using Otchatsa.Conversation;
using Otchatsa.FakeTelegram;
using Otchatsa.Tests.Support;
using Telegram.Bot.Types.Enums;

namespace Otchatsa.Tests.Telegram;

/// <summary>The worker against a loopback Bot API: real Telegram.Bot client, real host, real models on the demo index.</summary>
public sealed class TelegramBotTests
{
    private const long User = 501;
    private const long Group = -100777;

    private static byte[] Photo => File.ReadAllBytes(DemoIndex.QueryImage);

    // The demo's query photo is a held-out Ankle boot (DemoCatalogOptions.QueryClass = 9) and only demo-shoes sells
    // ankle boots: the one right answer lists malls, demo-shoes first.
    private static bool IsAnswerText(RecordedCall c) =>
        c.Text.Contains("Malls with this vibe", StringComparison.Ordinal) && c.Text.Contains("1. demo-shoes", StringComparison.Ordinal);

    [Fact]
    public void A_job_payload_keeps_its_stored_json_so_old_state_files_still_load()
    {
        // Written by earlier versions into the job table; the bytes must not change and must read back.
        const string stored = """{"action":"AnalyzePhoto","chatId":-100777,"userId":501,"messageId":7,"isGroup":true,"languageCode":"ko","fileId":"AgAD","fileSize":1234}""";
        var request = new TelegramRequest(TelegramAction.AnalyzePhoto, Group, User, 7, true, "ko", "AgAD", 1234);

        Assert.Equal(stored, request.ToJson());
        Assert.Equal(request, TelegramRequest.FromJson(stored));
        Assert.Equal("Empty Telegram job payload.", Assert.Throws<System.Text.Json.JsonException>(() => TelegramRequest.FromJson("null")).Message);
    }

    [Fact]
    public async Task A_private_photo_gets_an_album_of_nine_and_a_text_with_the_style_and_mall_buttons()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake);
        var message = fake.PhotoMessage(User, User, Photo);
        var update = fake.Enqueue(message);

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the answer text");

        var calls = fake.Calls;
        Assert.Contains(calls, c => c.Method == "deleteWebhook");
        Assert.Contains(calls, c => c.Method == "setMyCommands" && c.Json("commands")!.AsArray().Any(x => (string?)x!["command"] == "style"));
        var action = calls.Single(c => c.Method == "sendChatAction");
        Assert.Equal("upload_photo", action.Fields["action"]);
        var album = calls.Single(c => c.Method == "sendMediaGroup");
        Assert.True(action.Ticks <= album.Ticks);
        var media = album.Json("media")!.AsArray();
        Assert.Equal(9, media.Count);
        var attached = media.Select(m => ((string)m!["media"]!).Replace("attach://", "", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(attached, album.Files.Keys.ToHashSet());
        Assert.All(media, m => Assert.StartsWith("demo-", (string)m!["caption"]!, StringComparison.Ordinal));
        Assert.StartsWith("demo-shoes · Ankle boot", (string)media[0]!["caption"]!, StringComparison.Ordinal);
        Assert.All(album.Files.Values, bytes => Assert.True(bytes.Length > 100));

        var text = calls.Single(c => c.Method == "sendMessage" && c.ChatId == User);
        Assert.True(IsAnswerText(text), text.Text);
        // The demo photo is a Fashion-MNIST product shot: no style is named, the malls and items still are.
        Assert.Contains("doesn't look like an outfit photo", text.Text, StringComparison.Ordinal);
        Assert.Equal(message.Id, (int)text.Json("reply_parameters")!["message_id"]!);
        var buttons = text.Json("reply_markup")!["inline_keyboard"]!.AsArray().SelectMany(row => row!.AsArray()).ToArray();
        Assert.Equal(3, buttons.Length);
        Assert.Equal("https://demo-shoes.example.invalid/", (string?)buttons[0]!["url"]);
        Assert.All(buttons, b => Assert.StartsWith("https://demo-", (string)b!["url"]!, StringComparison.Ordinal));

        // The update is acknowledged: a later poll asks for the next offset, and it is stored for restarts.
        await fake.WaitForAsync(_ => fake.Offsets.Any(o => o > update.Id), what: "the offset to advance");
        Assert.Equal(0, fake.Unconfirmed);
        Assert.True(fake.Offsets.Where(o => o is not null).Zip(fake.Offsets.Where(o => o is not null).Skip(1)).All(p => p.First <= p.Second));
    }

    [Fact]
    public async Task An_image_sent_as_a_file_is_analysed_and_a_non_image_file_gets_one_polite_reply()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.DocumentMessage(User, User, Photo, "image/png", "look.png"));
        fake.Enqueue(fake.DocumentMessage(User + 1, User + 1, "hello, not a picture"u8.ToArray(), "text/plain", "notes.txt"));
        fake.Enqueue(fake.DocumentMessage(User + 2, User + 2, "%PDF-1.7 but called png"u8.ToArray(), "image/png", "fake.png"));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User)
                                         && calls.Any(c => c.Method == "sendMessage" && c.ChatId == User + 1)
                                         && calls.Any(c => c.Method == "sendMessage" && c.ChatId == User + 2), what: "three answers");

        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup" && c.ChatId == User);
        var notImage = Assert.Single(fake.Sent(User + 1));
        Assert.Contains("doesn't look like an image", notImage.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.Calls, c => c.Method == "getFile" && c.ChatId == User + 1);
        var disguised = Assert.Single(fake.Sent(User + 2));
        Assert.Contains("doesn't look like an image", disguised.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_photo_is_refused_politely_without_downloading_it()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.PhotoMessage(User, User, Photo, declaredSize: 25L * 1024 * 1024));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the refusal");

        var reply = Assert.Single(fake.Sent(User));
        Assert.Contains("too large", reply.Text, StringComparison.Ordinal);
        Assert.Contains("20 MB", reply.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.Calls, c => c.Method is "getFile" or "download");
    }

    [Fact]
    public async Task In_a_group_the_bot_stays_silent_unless_addressed_and_ignores_commands_for_other_bots()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.PhotoMessage(Group, User, Photo, chatType: ChatType.Supergroup));
        fake.Enqueue(fake.PhotoMessage(Group, User, Photo, caption: "nice, right?", chatType: ChatType.Supergroup));
        fake.Enqueue(fake.TextMessage(Group, User, "/style@otherbot romantic", ChatType.Supergroup));
        fake.Enqueue(fake.PhotoMessage(Group, User, Photo, caption: "/style@otherbot", chatType: ChatType.Supergroup));
        fake.Enqueue(fake.TextMessage(Group, User, "just chatting", ChatType.Supergroup));
        fake.Enqueue(fake.PhotoMessage(Group, User, Photo, caption: $"@{FakeTelegramApi.BotUsername}2 look", chatType: ChatType.Supergroup));
        // A marker addressed to us: once it is answered, everything before it has been routed.
        fake.Enqueue(fake.TextMessage(Group, User, $"/help@{FakeTelegramApi.BotUsername}", ChatType.Supergroup));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == Group), what: "the /help answer");
        await bot.StopAsync(); // drains the queue: anything wrongly accepted would have been answered by now

        var sent = Assert.Single(fake.Sent(Group));
        Assert.Contains("/styles", sent.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(fake.Calls, c => c.Method is "getFile" or "sendChatAction" or "sendMediaGroup" or "sendPhoto");
    }

    [Fact]
    public async Task Style_lookup_answers_and_style_as_a_reply_to_a_group_photo_gets_one_collage()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.TextMessage(User, User, "/style romantic"));
        var photo = fake.PhotoMessage(Group, User + 1, Photo, chatType: ChatType.Group);
        fake.Enqueue(photo);
        var ask = fake.TextMessage(Group, User + 2, $"/style@{FakeTelegramApi.BotUsername}", ChatType.Group, replyTo: photo);
        fake.Enqueue(ask);
        var mention = fake.PhotoMessage(Group, User + 3, Photo, caption: $"@{FakeTelegramApi.BotUsername} what style?", chatType: ChatType.Group);
        fake.Enqueue(mention);

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User)
                                         && calls.Count(c => c.Method == "sendPhoto" && c.ChatId == Group && c.Ok) == 2, what: "lookup and two collages");

        var lookup = Assert.Single(fake.Sent(User));
        Assert.Contains("Romantic (로맨틱)", lookup.Text, StringComparison.Ordinal);
        Assert.Contains("Lace, frills", lookup.Text, StringComparison.Ordinal);

        var collages = fake.Sent(Group).ToArray();
        Assert.Equal(2, collages.Length);
        Assert.All(collages, c => Assert.Equal("sendPhoto", c.Method));
        Assert.Equal([ask.Id, mention.Id], collages.Select(c => (int)c.Json("reply_parameters")!["message_id"]!).Order().ToArray());
        Assert.All(collages, c => Assert.True(IsAnswerText(c), c.Text));
        Assert.All(collages, c => Assert.Equal(3, c.Json("reply_markup")!["inline_keyboard"]!.AsArray().Count));
        Assert.All(collages, c => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], c.Files.Values.Single()[..4]));
        Assert.DoesNotContain(fake.Calls, c => c.Method == "sendMediaGroup");
    }

    [Fact]
    public async Task A_429_is_retried_once_after_retry_after_and_the_answer_is_sent_once()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.FailNext("sendMediaGroup", 429, retryAfter: 1);
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the answer");

        var albums = fake.Calls.Where(c => c.Method == "sendMediaGroup").ToArray();
        Assert.Equal([429, 200], albums.Select(a => a.Status).ToArray());
        Assert.Single(fake.Calls, c => c.Method == "sendMessage");
    }

    [Fact]
    public async Task A_photo_whose_answer_cannot_be_sent_ends_in_one_apology_not_silence()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.FailNext("sendMediaGroup", 400);
        await using var bot = await BotHostRunner.StartAsync(fake);
        var message = fake.PhotoMessage(User, User, Photo);
        fake.Enqueue(message);

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the apology");

        var sent = fake.Calls.Where(c => c.Method == "sendMessage" && c.ChatId == User).ToArray();
        var apology = Assert.Single(sent);
        Assert.Contains("went wrong", apology.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(message.Id, (int)apology.Json("reply_parameters")!["message_id"]!);
        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup");
    }

    [Theory]
    [InlineData(TelegramFaultKind.Status, 502, false)]
    [InlineData(TelegramFaultKind.Status, 500, false)]
    [InlineData(TelegramFaultKind.Reset, 0, false)]
    [InlineData(TelegramFaultKind.Reset, 0, true)]
    [InlineData(TelegramFaultKind.Hang, 0, false)]
    public async Task An_ambiguous_failure_of_the_album_is_not_repeated_and_the_user_gets_one_apology(TelegramFaultKind kind, int status, bool afterCreate)
    {
        // The Bot API has no idempotency key: a 5xx, a reset or a timeout may hide a delivered album, so it is not sent again.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.InjectFault("sendMediaGroup", new TelegramFault(kind, status, AfterCreate: afterCreate));
        await using var bot = await BotHostRunner.StartAsync(fake, time: time);
        var message = fake.PhotoMessage(User, User, Photo);
        fake.Enqueue(message);

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMediaGroup"), what: "the album attempt");
        if (kind == TelegramFaultKind.Hang)
        {
            time.Advance(TimeSpan.FromSeconds(61)); // past Telegram:RequestTimeout
        }
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the apology");
        await bot.StopAsync();

        var texts = fake.Calls.Where(c => c.Method == "sendMessage" && c.ChatId == User).ToArray();
        var apology = Assert.Single(texts);
        Assert.Contains("went wrong", apology.Text, StringComparison.Ordinal);
        Assert.Equal(message.Id, (int)apology.Json("reply_parameters")!["message_id"]!);
        var albums = fake.Calls.Where(c => c.Method == "sendMediaGroup").ToArray();
        Assert.Single(albums);
        Assert.Equal(afterCreate, albums[0].Ok);
    }

    [Fact]
    public async Task A_failed_read_is_retried_and_a_429_on_the_text_is_waited_out_so_the_answer_is_sent_once()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.FailNext("getFile", 502);
        fake.InjectFault("sendChatAction", new TelegramFault(TelegramFaultKind.Reset));
        fake.FailNext("sendMessage", 429, retryAfter: 1);
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User && c.Ok), what: "the answer");
        await bot.StopAsync();

        Assert.Equal([502, 200], fake.Calls.Where(c => c.Method == "getFile").Select(c => c.Status));
        Assert.Equal([0, 200], fake.Calls.Where(c => c.Method == "sendChatAction").Select(c => c.Status));
        Assert.Equal([429, 200], fake.Calls.Where(c => c.Method == "sendMessage").Select(c => c.Status));
        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup");
        Assert.True(IsAnswerText(fake.Calls.Last(c => c.Method == "sendMessage")));
    }

    [Fact]
    public async Task A_photo_telegram_no_longer_has_gets_the_send_it_again_reply_after_one_download()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.DownloadStatus = 404;
        await using var bot = await BotHostRunner.StartAsync(fake);
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));

        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the reply");
        await bot.StopAsync();

        var reply = Assert.Single(fake.Sent(User));
        Assert.Contains("couldn't download", reply.Text, StringComparison.Ordinal);
        Assert.Single(fake.Calls, c => c.Method == "download");
        Assert.Single(fake.Calls, c => c.Method == "getFile");
    }

    [Fact]
    public async Task Too_many_photos_from_one_user_get_a_busy_reply_with_the_wait()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake, settings: new Dictionary<string, string?>
        {
            ["Otchatsa:RateLimit:UserBurst"] = "1",
            ["Otchatsa:RateLimit:UserRefill"] = "00:01:00",
        });
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));

        await fake.WaitForAsync(calls => calls.Count(c => c.Method == "sendMessage" && c.ChatId == User) == 2, what: "two replies");

        var texts = fake.Calls.Where(c => c.Method == "sendMessage").Select(c => c.Text).ToArray();
        Assert.Single(texts, t => t.Contains("busy", StringComparison.Ordinal) && t.Contains("60 s", StringComparison.Ordinal));
        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup");
    }

    [Fact]
    public async Task A_job_accepted_before_a_crash_is_answered_exactly_once_after_restart()
    {
        using var stateDir = new TempFolder("otchatsa-bot-tests-");
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.Hold("getFile");
        var first = await BotHostRunner.StartAsync(fake, stateDir.Path);
        var update = fake.Enqueue(fake.PhotoMessage(User, User, Photo));
        // Accepted and acknowledged (the next poll carries offset update+1), but stuck downloading.
        await fake.WaitForAsync(_ => fake.Offsets.Any(o => o > update.Id), what: "the acknowledgement");
        await first.AbortAsync();
        first.Host.Dispose();
        await fake.WaitUntilNoneHeldAsync("getFile"); // the dead worker's download is not let through either
        fake.Release("getFile");
        Assert.Empty(fake.Sent(User));

        // Telegram redelivers the update as if the acknowledgement had been lost: it must not be answered twice.
        fake.Redeliver(update);
        await using var second = await BotHostRunner.StartAsync(fake, first.StateDir);
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User), what: "the resumed answer");
        var marker = fake.Enqueue(fake.TextMessage(User + 9, User + 9, "/help"));
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User + 9), what: "the marker");
        await fake.WaitForAsync(_ => fake.Offsets.Any(o => o > marker.Id), what: "the marker's acknowledgement");
        await second.StopAsync();

        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup" && c.Ok);
        Assert.Single(fake.Calls, c => c.Method == "sendMessage" && c.ChatId == User);
        using var db = StateDatabase.Open(Path.Combine(first.StateDir, "bot.db"));
        var store = new JobOutbox(db);
        Assert.Equal(0, store.Counts("telegram").Pending);
        Assert.Equal(2, store.Counts("telegram").Done);
    }

    [Fact]
    public async Task A_resumed_job_whose_reply_changed_after_its_album_went_out_still_gets_its_answer()
    {
        using var stateDir = new TempFolder("otchatsa-bot-tests-");
        await using var fake = await FakeTelegramApi.StartAsync();
        fake.Hold("sendMessage");
        var first = await BotHostRunner.StartAsync(fake, stateDir.Path);
        fake.Enqueue(fake.PhotoMessage(User, User, Photo));
        // The album is out and recorded as part 1 of 2; the text is in flight when the worker dies.
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMediaGroup" && c.Ok), what: "the album");
        var state = Path.Combine(stateDir.Path, "bot.db");
        await fake.WaitForAsync(_ => PartsRecorded(state) == (1, 2), what: "part 1 of 2 recorded");
        await first.AbortAsync();
        first.Host.Dispose();
        // The dead worker's text must not go through when the hold is lifted (a loaded machine let it, once).
        await fake.WaitUntilNoneHeldAsync("sendMessage");
        fake.Release("sendMessage");

        // After the restart the photo can no longer be downloaded: the reply is now one text, not the album's second part.
        fake.DownloadStatus = 404;
        await using var second = await BotHostRunner.StartAsync(fake, stateDir.Path);
        await fake.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == User && c.Ok), what: "the resumed answer");
        await second.StopAsync();

        Assert.Single(fake.Calls, c => c.Method == "sendMediaGroup" && c.Ok);
        var text = Assert.Single(fake.Calls, c => c.Method == "sendMessage" && c.ChatId == User && c.Ok);
        Assert.Contains("couldn't download", text.Text, StringComparison.Ordinal);
    }

    /// <summary>The one job's (sent, of) parts, read without writing to the worker's open state file.</summary>
    private static (long Sent, long? Of)? PartsRecorded(string state)
    {
        try
        {
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={state};Mode=ReadOnly;Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT sent_parts, reply_parts FROM jobs";
            using var reader = cmd.ExecuteReader();
            return reader.Read() ? (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1)) : null;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return null; // busy or not created yet: look again
        }
    }

    [Fact]
    public async Task A_rejected_token_stops_the_worker_with_a_non_zero_exit_code()
    {
        await using var fake = await FakeTelegramApi.StartAsync();
        await using var bot = await BotHostRunner.StartAsync(fake, token: "999:wrong-token");
        var lifetime = (Microsoft.Extensions.Hosting.IHostApplicationLifetime)bot.Host.Services.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime))!;
        var stopped = new TaskCompletionSource();
        lifetime.ApplicationStopping.Register(() => stopped.TrySetResult());
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, bot.ExitCode);
        Assert.All(fake.Calls, c => Assert.Equal(401, c.Status));
        Assert.Single(fake.Calls);
    }
}
