using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Discord;
using Otchatsa.FakeDiscord;
using Otchatsa.FakeTelegram;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;
using Otchatsa.Tests.Telegram;

namespace Otchatsa.Tests.Discord;

/// <summary>The worker's Discord front end against the loopback fake: real client, real host, real models on the demo index.</summary>
public sealed class DiscordBotTests
{
    private const string Guild = "400000000000000001";
    private const string Channel = "500000000000000001";
    private static readonly TimeSpan Budget = DiscordHostRunner.Budget;
    private static readonly JsonObject Alice = FakeEvents.User("600000000000000009", "alice");
    private static readonly JsonObject OtherBot = FakeEvents.User("600000000000000077", "otherbot", bot: true);
    private static readonly JsonObject Me = FakeEvents.User(FakeDiscordServer.BotUserId, "otchatsa", bot: true);

    private static byte[] Photo => File.ReadAllBytes(DemoIndex.QueryImage);

    [Fact]
    public void A_job_payload_keeps_its_stored_json_so_old_state_files_still_load()
    {
        // Written by earlier versions into the job table; the bytes must not change and must read back.
        const string stored = """{"action":"AnalyzePhoto","channelId":"500000000000000001","userId":"600000000000000009","guildId":"400000000000000001","messageId":"700000000000000001","photo":{"id":"800000000000000001","filename":"look.png","url":"https://cdn.discordapp.com/attachments/1/2/look.png?ex=1\u0026is=2","size":2048,"contentType":"image/png"},"retryAfterSeconds":2.5}""";
        var request = new DiscordRequest(DiscordAction.AnalyzePhoto, Channel, "600000000000000009", Guild, MessageId: "700000000000000001",
            Photo: new DiscordPhoto("800000000000000001", "look.png", "https://cdn.discordapp.com/attachments/1/2/look.png?ex=1&is=2", 2048, "image/png"),
            RetryAfterSeconds: 2.5);

        Assert.Equal(stored, request.ToJson());
        Assert.Equal(request, DiscordRequest.FromJson(stored));
        Assert.Equal("Empty Discord job payload.", Assert.Throws<System.Text.Json.JsonException>(() => DiscordRequest.FromJson("null")).Message);
    }

    private static JsonObject PhotoMessage(FakeDiscordServer fake, JsonObject author, bool mention, string? guild = Guild)
    {
        var photo = Photo;
        var url = fake.AddCdnFile($"attachments/{FakeEvents.NextId()}/look.png", photo, "image/png");
        return FakeEvents.Message(Channel, guild, author, mention ? $"<@{FakeDiscordServer.BotUserId}> what style?" : "look",
            mention ? [Me] : [],
            [FakeEvents.Attachment(FakeEvents.NextId(), "look.png", url, photo.Length, "image/png")]);
    }

    private static IReadOnlyList<RecordedRequest> ChannelPosts(FakeDiscordServer fake) =>
        fake.Requests.Where(r => r.Method == "POST" && r.Path == $"channels/{Channel}/messages").ToArray();

    private static void AssertNineItemGallery(RecordedRequest request)
    {
        Assert.StartsWith("multipart/form-data", request.ContentType, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"files[{i}]"), request.Files.Select(f => f.Name));
        Assert.All(request.Files, f => Assert.True(f.Length > 100));
        var json = request.Json!;
        Assert.Equal(32768, (int)json["flags"]! & 32768);
        var components = json["components"]!.AsArray();
        Assert.Equal(10, (int)components[0]!["type"]!);
        var text = (string)components[0]!["content"]!;
        // The demo photo is a Fashion-MNIST product shot: no style is named, the malls and items still are.
        Assert.Contains("doesn't look like an outfit photo", text, StringComparison.Ordinal);
        Assert.Equal(3, text.Split("](https://demo-").Length - 1);
        // The demo's query photo is a held-out Ankle boot (DemoCatalogOptions.QueryClass = 9); only demo-shoes sells them.
        Assert.Contains("Malls with this vibe:\n1. demo-shoes — ", text, StringComparison.Ordinal);
        Assert.Contains("\n\n🛍️ [demo-shoes](https://demo-shoes.example.invalid/) · ", text, StringComparison.Ordinal);
        Assert.Equal(12, (int)components[1]!["type"]!);
        var items = components[1]!["items"]!.AsArray();
        Assert.Equal(request.Files.Select(f => "attachment://" + f.FileName), items.Select(i => (string)i!["media"]!["url"]!));
        Assert.Equal(request.Files.Select(f => f.FileName), json["attachments"]!.AsArray().Select(a => (string)a!["filename"]!));
        Assert.Empty(json["allowed_mentions"]!["parse"]!.AsArray());
    }

    private static void AssertNoSecretsLogged(DiscordHostRunner bot, params string[] interactionTokens)
    {
        var all = bot.Logs.AllText;
        Assert.DoesNotContain(FakeDiscordServer.Token, all, StringComparison.Ordinal);
        Assert.All(interactionTokens, t => Assert.DoesNotContain(t, all, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_image_with_an_at_mention_gets_exactly_one_reply_with_a_nine_item_gallery_that_pings_nobody()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);

        // Commands were registered globally, /style offering the classifier's styles (the demo's knows none: all styles).
        var registration = Assert.Single(fake.Requests, r => r.Method == "PUT" && r.Path.EndsWith("/commands", StringComparison.Ordinal));
        Assert.DoesNotContain("/guilds/", registration.Path, StringComparison.Ordinal);
        var style = registration.Json!.AsArray().Single(c => (string?)c!["name"] == OtchatsaCommands.Style)!;
        var known = DemoIndex.Runtime.Recommender.Classifier.Classes;
        Assert.Equal(
            (known.Count > 0 ? known : StyleTaxonomy.All).Select(c => c.Id).Take(25),
            style["options"]![0]!["choices"]!.AsArray().Select(c => (string)c!["value"]!));

        var message = PhotoMessage(fake, Alice, mention: true);
        await fake.DispatchAsync("MESSAGE_CREATE", message);
        await fake.WaitUntilAsync(() => ChannelPosts(fake).Count >= 1, Budget, "the reply");
        await bot.StopAsync(); // drains the queue: a second reply would have been sent by now

        var reply = Assert.Single(ChannelPosts(fake));
        AssertNineItemGallery(reply);
        Assert.Equal((string)message["id"]!, (string?)reply.Json!["message_reference"]!["message_id"]);
        Assert.Single(fake.CdnDownloads);
        AssertNoSecretsLogged(bot);
    }

    [Theory]
    [InlineData(RestFaultKind.Status, 502, false)]
    [InlineData(RestFaultKind.Status, 500, true)]
    [InlineData(RestFaultKind.Reset, 0, true)]
    public async Task A_fault_on_the_reply_POST_still_leaves_exactly_one_reply_in_the_channel(RestFaultKind kind, int status, bool afterCreate)
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);
        fake.InjectFault(new RestFault($"channels/{Channel}/messages", kind, status, afterCreate));

        var message = PhotoMessage(fake, Alice, mention: true);
        await fake.DispatchAsync("MESSAGE_CREATE", message);
        await fake.WaitUntilAsync(() => ChannelPosts(fake).Count >= 2, Budget, "the retried reply");
        await bot.StopAsync();

        // The same nonce twice: Discord (and the fake) keep one message, whether or not the first POST created it.
        var posts = ChannelPosts(fake);
        Assert.Equal(2, posts.Count);
        Assert.Single(posts.Select(p => (string?)p.Json!["nonce"]).Distinct());
        var reply = Assert.Single(fake.CreatedMessages);
        Assert.Equal((string)message["id"]!, reply.ReferencedMessageId);
        AssertNineItemGallery(posts[^1]);
        Assert.Single(fake.CdnDownloads);
    }

    [Fact]
    public async Task A_reply_POST_failing_on_every_attempt_ends_in_exactly_one_apology()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);
        for (var i = 0; i < 5; i++)
        {
            fake.InjectFault(new RestFault($"channels/{Channel}/messages", RestFaultKind.Status, 503));
        }

        var message = PhotoMessage(fake, Alice, mention: true);
        await fake.DispatchAsync("MESSAGE_CREATE", message);
        await fake.WaitUntilAsync(() => fake.CreatedMessages.Count >= 1, Budget, "the apology");
        await bot.StopAsync();

        Assert.Equal(6, ChannelPosts(fake).Count); // the reply: one try + 4 retries; then the apology
        var apology = Assert.Single(fake.CreatedMessages);
        Assert.Equal((string)message["id"]!, apology.ReferencedMessageId);
        Assert.Contains("went wrong", (string)apology.Json!["components"]![0]!["content"]!, StringComparison.Ordinal);
        Assert.NotEqual((string?)ChannelPosts(fake)[0].Json!["nonce"], apology.Nonce);
    }

    [Fact]
    public async Task A_bot_authored_image_gets_no_reply_and_a_plain_dm_gets_a_hint()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);

        await fake.DispatchAsync("MESSAGE_CREATE", PhotoMessage(fake, OtherBot, mention: true));
        await fake.DispatchAsync("MESSAGE_CREATE", PhotoMessage(fake, Alice, mention: false)); // not addressed to us
        // A marker from a human in a DM: once it is answered, the messages before it have been routed.
        var dm = FakeEvents.Message("500000000000000777", null, Alice, "hi");
        await fake.DispatchAsync("MESSAGE_CREATE", dm);
        await fake.WaitUntilAsync(() => fake.Requests.Any(r => r.Path == "channels/500000000000000777/messages"), Budget, "the DM hint");
        await bot.StopAsync();

        Assert.Empty(ChannelPosts(fake));
        Assert.Empty(fake.CdnDownloads);
        var hint = Assert.Single(fake.Requests, r => r.Path == "channels/500000000000000777/messages");
        Assert.Contains("photo", (string)hint.Json!["components"]![0]!["content"]!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Style_command_with_a_name_is_answered()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);

        var token = "itok-" + Guid.NewGuid().ToString("N");
        var options = new JsonArray(new JsonObject { ["name"] = "name", ["type"] = 3, ["value"] = "romantic" });
        await fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, OtchatsaCommands.Style, options, token: token));

        // Answered directly (type 4) or, if the collage took long, deferred and then PATCHed.
        static JsonNode? Answer(FakeDiscordServer f) =>
            f.Requests.FirstOrDefault(r => r.Path.EndsWith("/callback", StringComparison.Ordinal) && (int?)r.Json?["type"] == 4)?.Json?["data"]
            ?? f.Requests.FirstOrDefault(r => r.Method == "PATCH")?.Json;
        await fake.WaitUntilAsync(() => Answer(fake) is not null, Budget, "the /style answer");

        var text = (string)Answer(fake)!["components"]![0]!["content"]!;
        Assert.Contains("Romantic", text, StringComparison.Ordinal);
        Assert.Empty(Answer(fake)!["allowed_mentions"]!["parse"]!.AsArray());
        AssertNoSecretsLogged(bot, token);
    }

    [Fact]
    public async Task Find_similar_style_is_deferred_then_completed_by_patching_the_original_with_a_nine_item_gallery()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake);
        await bot.WaitReadyAsync(fake);

        var token = "itok-" + Guid.NewGuid().ToString("N");
        var target = PhotoMessage(fake, Alice, mention: false);
        await fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.MessageCommand(FakeDiscordServer.ApplicationId, OtchatsaCommands.FindSimilar, target, token));
        await fake.WaitUntilAsync(() => fake.Requests.Any(r => r.Method == "PATCH"), Budget, "PATCH @original");

        var callback = Assert.Single(fake.Requests, r => r.Path.EndsWith("/callback", StringComparison.Ordinal));
        Assert.Equal(5, (int)callback.Json!["type"]!);
        var patch = Assert.Single(fake.Requests, r => r.Method == "PATCH");
        Assert.EndsWith("/messages/@original", patch.Path, StringComparison.Ordinal);
        Assert.True(callback.At <= patch.At);
        AssertNineItemGallery(patch);

        await bot.StopAsync();
        // Exactly one answer: no fallback apology after the PATCH, no follow-up.
        Assert.Single(fake.Requests, r => r.Method == "PATCH");
        Assert.DoesNotContain(fake.Requests, r => r.Method == "POST" && r.Path.StartsWith("webhooks/", StringComparison.Ordinal));
        AssertNoSecretsLogged(bot, token);
    }

    [Fact]
    public async Task A_discord_only_worker_whose_token_is_refused_by_the_gateway_stops_with_a_clear_line_and_a_non_zero_exit_code()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        fake.CloseOnIdentify = 4004;
        await using var bot = await DiscordHostRunner.StartAsync(fake);

        var stopped = bot.Host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        await fake.WaitUntilAsync(() => stopped.IsCancellationRequested, Budget, "the worker to stop");

        Assert.Equal(3, bot.ExitCode);
        var line = Assert.Single(bot.Logs.Lines, l => l.Level == LogLevel.Critical && l.Category.EndsWith("DiscordFrontEnd", StringComparison.Ordinal));
        Assert.Contains("4004", line.Text, StringComparison.Ordinal);
        Assert.Contains("exiting with code 3", line.Text, StringComparison.Ordinal);
        Assert.Equal(1, fake.IdentifyCount); // no reconnect loop
        AssertNoSecretsLogged(bot);
    }

    [Fact]
    public async Task Rejected_attachments_and_a_rate_limited_user_each_get_one_polite_reply()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        await using var bot = await DiscordHostRunner.StartAsync(fake, new Dictionary<string, string?> { ["Otchatsa:RateLimit:UserBurst"] = "1" });
        await bot.WaitReadyAsync(fake);

        JsonObject Mention(string channel, string filename, byte[] bytes, string contentType)
        {
            var attachment = FakeEvents.Attachment(FakeEvents.NextId(), filename,
                fake.AddCdnFile($"attachments/{FakeEvents.NextId()}/{filename}", bytes, contentType), bytes.Length, contentType);
            if (!contentType.StartsWith("image/", StringComparison.Ordinal))
            {
                // Discord gives only images a width and height.
                attachment.Remove("width");
                attachment.Remove("height");
            }
            return FakeEvents.Message(channel, Guild, Alice, $"<@{FakeDiscordServer.BotUserId}>", [Me], [attachment]);
        }
        // Claims to be a PNG: downloaded (it takes Alice's one token), then refused by sniffing.
        await fake.DispatchAsync("MESSAGE_CREATE", Mention("510000000000000001", "fake.png", "%PDF-1.7 not a picture"u8.ToArray(), "image/png"));
        // Not an image at all: refused without downloading.
        await fake.DispatchAsync("MESSAGE_CREATE", Mention("510000000000000002", "notes.txt", "hello"u8.ToArray(), "text/plain"));
        int Replies() => fake.Requests.Count(r => r.Path.StartsWith("channels/51", StringComparison.Ordinal));
        // Messages are handled concurrently: the first two must be in before the next one competes for the token.
        await fake.WaitUntilAsync(() => Replies() >= 2, Budget, "two refusals");
        // A real photo, but Alice has no token left.
        await fake.DispatchAsync("MESSAGE_CREATE", Mention("510000000000000003", "look.png", Photo, "image/png"));

        string TextIn(string channel) =>
            (string)fake.Requests.Single(r => r.Path == $"channels/{channel}/messages").Json!["components"]![0]!["content"]!;
        await fake.WaitUntilAsync(() => Replies() >= 3, Budget, "the busy reply");
        await bot.StopAsync();

        Assert.Contains("doesn't look like an image", TextIn("510000000000000001"), StringComparison.Ordinal);
        Assert.Contains("doesn't look like an image", TextIn("510000000000000002"), StringComparison.Ordinal);
        Assert.Contains("busy", TextIn("510000000000000003"), StringComparison.Ordinal);
        Assert.Equal(3, fake.Requests.Count(r => r.Path.StartsWith("channels/51", StringComparison.Ordinal)));
        Assert.Single(fake.CdnDownloads);
    }

    [Fact]
    public async Task With_telegram_also_enabled_a_fatal_discord_close_stops_only_discord()
    {
        await using var telegram = await FakeTelegramApi.StartAsync();
        await using var fake = await FakeDiscordServer.StartAsync();
        fake.CloseOnIdentify = 4014;
        await using var bot = await DiscordHostRunner.StartAsync(fake, new Dictionary<string, string?>
        {
            ["Telegram:Enabled"] = "true",
            ["Telegram:BotToken"] = FakeTelegramApi.Token,
            ["Telegram:ApiBaseUrl"] = telegram.BaseUrl,
            ["Telegram:PollTimeout"] = "00:00:01",
        });

        await fake.WaitUntilAsync(
            () => bot.Logs.Lines.Any(l => l.Level == LogLevel.Critical && l.Category.EndsWith("DiscordFrontEnd", StringComparison.Ordinal)),
            Budget, "the Discord front end to stop");
        telegram.Enqueue(telegram.TextMessage(501, 501, "/help"));
        await telegram.WaitForAsync(calls => calls.Any(c => c.Method == "sendMessage" && c.ChatId == 501), what: "Telegram's /help answer");

        var line = Assert.Single(bot.Logs.Lines, l => l.Level == LogLevel.Critical && l.Category.EndsWith("DiscordFrontEnd", StringComparison.Ordinal));
        Assert.Contains("4014", line.Text, StringComparison.Ordinal);
        Assert.Contains("Still running: Telegram", line.Text, StringComparison.Ordinal);
        Assert.False(bot.Host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        Assert.Equal(0, bot.ExitCode);
        AssertNoSecretsLogged(bot);
        Assert.DoesNotContain(FakeTelegramApi.Token, bot.Logs.AllText, StringComparison.Ordinal);
    }
}
