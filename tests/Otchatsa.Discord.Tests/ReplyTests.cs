using System.Text.Json.Nodes;
using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Interactions;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

public sealed class ReplyTests
{
    private static readonly TimeSpan Budget = DiscordHarness.Budget;
    private static readonly JsonObject Alice = FakeEvents.User("600000000000000009", "alice");
    private const string Guild = "400000000000000001";
    private const string Channel = "500000000000000001";

    internal static byte[] Jpeg(int seed) => [0xFF, 0xD8, 0xFF, 0xE0, (byte)seed, 1, 2, 3, 4, 5, 6, 7];

    internal static DiscordReply NineItemReply(string text = "**Romantic 로맨틱** (71%)") => new()
    {
        Text = text + "\n1. [girlis](https://girlis.example) 2. [mall b](https://b.example) 3. [mall c](https://c.example)",
        Images = Enumerable.Range(0, 9)
            .Select(i => new ReplyImage($"mall{i / 3}/item {i}.jpg", Jpeg(i), "image/jpeg")
            {
                Description = $"item {i}",
                GroupUrl = $"https://mall{i / 3}.example",
            })
            .ToArray(),
    };

    private static JsonObject PhotoMessage(FakeDiscordServer fake, JsonObject author, bool mention, string? guild = Guild)
    {
        var url = fake.AddCdnFile($"attachments/{FakeEvents.NextId()}/look.jpg", Jpeg(42));
        return FakeEvents.Message(Channel, guild, author, mention ? $"<@{FakeDiscordServer.BotUserId}> what style?" : "look",
            mention ? [FakeEvents.User(FakeDiscordServer.BotUserId, "otchatsa", bot: true)] : [],
            [FakeEvents.Attachment(FakeEvents.NextId(), "look.jpg", url, 12)]);
    }

    private static void AssertNineItemGallery(RecordedRequest request)
    {
        Assert.StartsWith("multipart/form-data", request.ContentType, StringComparison.Ordinal);
        Assert.Equal(9, request.Files.Count);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"files[{i}]"), request.Files.Select(f => f.Name));
        Assert.All(request.Files, f => Assert.Equal("image/jpeg", f.ContentType));
        var json = request.Json!;
        Assert.Equal(32768, (int)json["flags"]! & 32768);
        Assert.Null(json["content"]);
        Assert.Null(json["embeds"]);
        var components = json["components"]!.AsArray();
        Assert.Equal(10, (int)components[0]!["type"]!);
        Assert.Contains("Romantic", (string)components[0]!["content"]!, StringComparison.Ordinal);
        Assert.Equal(12, (int)components[1]!["type"]!);
        var items = components[1]!["items"]!.AsArray();
        Assert.Equal(9, items.Count);
        Assert.Equal(request.Files.Select(f => "attachment://" + f.FileName), items.Select(i => (string)i!["media"]!["url"]!));
        Assert.Equal(request.Files.Select(f => f.FileName), json["attachments"]!.AsArray().Select(a => (string)a!["filename"]!));
        Assert.Equal(Enumerable.Range(0, 9), json["attachments"]!.AsArray().Select(a => (int)a!["id"]!));
    }

    [Fact]
    public async Task Context_menu_command_is_deferred_then_completed_by_patching_the_original_with_a_nine_item_gallery()
    {
        await using var h = await DiscordHarness.StartAsync();
        var deferredBeforeWork = false;
        h.Handlers.OnInteraction = async (ctx, ct) =>
        {
            Assert.Equal(TestCommands.FindSimilar, ctx.CommandName);
            Assert.Equal(ApplicationCommandType.Message, ctx.CommandType);
            await ctx.DeferAsync(ephemeral: false, ct);
            // Discord's 3 s are met by answering first: the deferral is at Discord before any work starts.
            deferredBeforeWork = h.Fake.Requests.Any(r => r.Path.EndsWith("/callback", StringComparison.Ordinal))
                                 && h.Fake.CdnDownloads.Count == 0;
            var photo = await ctx.DownloadAsync(ctx.TargetMessage!.Attachments[0], ct);
            Assert.Equal("image/jpeg", photo.MediaType);
            await ctx.RespondAsync(NineItemReply(), ct);
        };
        await h.WaitReadyAsync();
        var target = PhotoMessage(h.Fake, Alice, mention: false);

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.MessageCommand(FakeDiscordServer.ApplicationId, TestCommands.FindSimilar, target));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Method == "PATCH"), Budget, "PATCH @original");

        var callback = Assert.Single(h.Fake.Requests, r => r.Path.EndsWith("/callback", StringComparison.Ordinal));
        Assert.Equal(5, (int)callback.Json!["type"]!);
        Assert.True(deferredBeforeWork, "the deferral went out before the download");
        var patch = Assert.Single(h.Fake.Requests, r => r.Method == "PATCH");
        Assert.Matches($"^webhooks/{FakeDiscordServer.ApplicationId}/itok-[0-9a-f]+/messages/@original$", patch.Path);
        Assert.True(patch.At >= callback.At);
        AssertNineItemGallery(patch);
        Assert.Single(h.Fake.CdnDownloads);
    }

    [Fact]
    public async Task A_slow_handler_is_deferred_automatically_and_its_answer_patches_the_original()
    {
        var clock = new ObservedClock();
        var autoDeferAfter = new DiscordClientOptions().AutoDeferAfter;
        Assert.InRange(autoDeferAfter, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(2.5)); // well inside Discord's 3 s
        await using var h = await DiscordHarness.StartAsync(o => o.AutoDeferAfter = autoDeferAfter, clock: clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Handlers.OnInteraction = async (ctx, ct) =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(ct);
            await ctx.RespondAsync(new DiscordReply { Text = "done" }, ct);
        };
        await h.WaitReadyAsync();

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Styles));
        await started.Task.WaitAsync(Budget);
        await clock.WaitForTimerAsync(autoDeferAfter);
        var dispatchedAt = clock.GetUtcNow();
        clock.Advance(autoDeferAfter - TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(h.Fake.Requests, r => r.Path.EndsWith("/callback", StringComparison.Ordinal));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)), Budget, "auto-defer");
        Assert.Equal(autoDeferAfter, h.Fake.Requests.Single(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)).At - dispatchedAt);
        release.SetResult();
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Method == "PATCH"), Budget, "PATCH @original");

        Assert.Equal(5, (int)h.Fake.Requests.Single(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)).Json!["type"]!);
        Assert.Equal("done", (string?)h.Fake.Requests.Single(r => r.Method == "PATCH").Json!["components"]![0]!["content"]);
    }

    [Fact]
    public async Task Style_command_with_a_name_is_answered_with_type_4()
    {
        await using var h = await DiscordHarness.StartAsync();
        h.Handlers.OnInteraction = (ctx, ct) =>
            ctx.RespondAsync(new DiscordReply { Text = $"Style: {ctx.GetString(TestCommands.NameOption)}" }, ct);
        await h.WaitReadyAsync();

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Style,
            [new JsonObject { ["name"] = "name", ["type"] = 3, ["value"] = "romantic" }]));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)), Budget, "callback");

        var callback = h.Fake.Requests.Single(r => r.Path.EndsWith("/callback", StringComparison.Ordinal));
        Assert.Equal(4, (int)callback.Json!["type"]!);
        Assert.Equal("Style: romantic", (string?)callback.Json["data"]!["components"]![0]!["content"]);
        Assert.Empty(callback.Json["data"]!["allowed_mentions"]!["parse"]!.AsArray());
    }

    [Fact]
    public async Task Style_command_resolves_its_image_attachment()
    {
        await using var h = await DiscordHarness.StartAsync();
        var seen = new TaskCompletionSource<DiscordAttachment?>(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Handlers.OnInteraction = (ctx, ct) =>
        {
            seen.TrySetResult(ctx.GetAttachment(TestCommands.ImageOption));
            return ctx.RespondAsync(new DiscordReply { Text = "ok" }, ct);
        };
        await h.WaitReadyAsync();
        var url = h.Fake.AddCdnFile("attachments/1/a.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "image/png");

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Style,
            [
                new JsonObject { ["name"] = "name", ["type"] = 3, ["value"] = "street" },
                new JsonObject { ["name"] = "image", ["type"] = 11, ["value"] = "900000000000000001" },
            ],
            new JsonObject { ["attachments"] = new JsonObject { ["900000000000000001"] = FakeEvents.Attachment("900000000000000001", "a.png", url, 8, "image/png") } }));

        var attachment = await seen.Task.WaitAsync(Budget);
        Assert.Equal("a.png", attachment?.Filename);
        Assert.Equal(url, attachment?.Url);
    }

    [Fact]
    public async Task Help_is_ephemeral()
    {
        await using var h = await DiscordHarness.StartAsync();
        h.Handlers.OnInteraction = (ctx, ct) => ctx.RespondAsync(new DiscordReply { Text = "help text", Ephemeral = true }, ct);
        await h.WaitReadyAsync();

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Help));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)), Budget, "callback");

        var flags = (int)h.Fake.Requests.Single(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)).Json!["data"]!["flags"]!;
        Assert.Equal(64, flags & 64);
    }

    [Fact]
    public async Task A_failing_handler_still_answers_the_interaction()
    {
        await using var h = await DiscordHarness.StartAsync();
        h.Handlers.OnInteraction = (_, _) => throw new InvalidOperationException("boom");
        await h.WaitReadyAsync();

        await h.Fake.DispatchAsync("INTERACTION_CREATE", FakeEvents.SlashCommand(FakeDiscordServer.ApplicationId, TestCommands.Styles));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.EndsWith("/callback", StringComparison.Ordinal)), Budget, "fallback");

        var callback = h.Fake.Requests.Single(r => r.Path.EndsWith("/callback", StringComparison.Ordinal));
        Assert.Equal(4, (int)callback.Json!["type"]!);
        Assert.Equal(DiscordBot.InteractionFallbackText, (string?)callback.Json["data"]!["components"]![0]!["content"]);
    }

    [Fact]
    public async Task A_mention_with_an_image_gets_one_reply_referencing_it_that_pings_nobody()
    {
        await using var h = await DiscordHarness.StartAsync();
        h.Handlers.OnMessage = async (ctx, ct) =>
        {
            if (!(ctx.IsDirectMessage || ctx.AddressesBot) || ctx.ImageAttachments.Count == 0)
            {
                return;
            }

            await ctx.DownloadAsync(ctx.ImageAttachments[0], ct);
            await ctx.ReplyAsync(NineItemReply(), ct);
        };
        await h.WaitReadyAsync();
        var message = PhotoMessage(h.Fake, Alice, mention: true);
        var unaddressed = PhotoMessage(h.Fake, Alice, mention: false);

        await h.Fake.DispatchAsync("MESSAGE_CREATE", unaddressed);
        await h.Fake.DispatchAsync("MESSAGE_CREATE", message);
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.StartsWith("channels/", StringComparison.Ordinal)), Budget, "reply");
        await h.Fake.WaitUntilAsync(() => h.Bot.HandlersInFlight == 0, Budget, "handlers done");

        var reply = Assert.Single(h.Fake.Requests, r => r.Path.StartsWith("channels/", StringComparison.Ordinal));
        Assert.Equal($"channels/{Channel}/messages", reply.Path);
        AssertNineItemGallery(reply);
        Assert.Equal((string?)message["id"], (string?)reply.Json!["message_reference"]!["message_id"]);
        Assert.Empty(reply.Json["allowed_mentions"]!["parse"]!.AsArray());
        Assert.False((bool)reply.Json["allowed_mentions"]!["replied_user"]!);
    }

    [Fact]
    public async Task Messages_from_bots_and_webhooks_are_ignored()
    {
        await using var h = await DiscordHarness.StartAsync();
        await h.WaitReadyAsync();
        var fromBot = PhotoMessage(h.Fake, FakeEvents.User("600000000000000077", "otherbot", bot: true), mention: true);
        var fromWebhook = PhotoMessage(h.Fake, Alice, mention: true);
        fromWebhook["webhook_id"] = "800000000000000001";
        var fromHuman = PhotoMessage(h.Fake, Alice, mention: true);

        await h.Fake.DispatchAsync("MESSAGE_CREATE", fromBot);
        await h.Fake.DispatchAsync("MESSAGE_CREATE", fromWebhook);
        await h.Fake.DispatchAsync("MESSAGE_CREATE", fromHuman);
        await h.Fake.WaitUntilAsync(() => h.Handlers.Messages.Count >= 1, Budget, "human message handled");

        var handled = Assert.Single(h.Handlers.Messages);
        Assert.Equal((string?)fromHuman["id"], handled.Message.Id);
    }

    [Fact]
    public async Task Embed_layout_falls_back_to_one_text_embed_and_nine_image_embeds_grouped_by_mall()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.ReplyLayout = DiscordReplyLayout.Embeds);
        h.Handlers.OnMessage = (ctx, ct) => ctx.ReplyAsync(NineItemReply(), ct);
        await h.WaitReadyAsync();

        await h.Fake.DispatchAsync("MESSAGE_CREATE", PhotoMessage(h.Fake, Alice, mention: true, guild: null));
        await h.Fake.WaitUntilAsync(() => h.Fake.Requests.Any(r => r.Path.StartsWith("channels/", StringComparison.Ordinal)), Budget, "reply");

        var reply = h.Fake.Requests.Single(r => r.Path.StartsWith("channels/", StringComparison.Ordinal));
        var embeds = reply.Json!["embeds"]!.AsArray();
        Assert.Equal(10, embeds.Count);
        Assert.Contains("Romantic", (string)embeds[0]!["description"]!, StringComparison.Ordinal);
        Assert.Equal(reply.Files.Select(f => "attachment://" + f.FileName), embeds.Skip(1).Select(e => (string)e!["image"]!["url"]!));
        Assert.Equal(3, embeds.Skip(1).Select(e => (string?)e!["url"]).Distinct().Count());
        Assert.Null(reply.Json["flags"]);
        Assert.Null(reply.Json["components"]);
    }

    [Fact]
    public async Task Attachments_are_refused_off_the_allow_list_over_the_size_cap_or_when_not_images()
    {
        await using var h = await DiscordHarness.StartAsync(o => o.MaxAttachmentBytes = 100, run: false);
        var downloader = new AttachmentDownloader(new HttpClient(AttachmentDownloader.CreateDefaultHandler()), h.Options, TestContentCheck.JpegOnly,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<AttachmentDownloader>.Instance);
        var text = h.Fake.AddCdnFile("attachments/1/notes.jpg", "just some text, not an image"u8.ToArray());
        var big = h.Fake.AddCdnFile("attachments/2/big.jpg", [.. Jpeg(1), .. new byte[200]]);

        async Task<AttachmentRejection> Reason(string url, long size) =>
            (await Assert.ThrowsAsync<AttachmentRejectedException>(() => downloader.DownloadImageAsync(
                new DiscordAttachment { Id = "1", Filename = "x.jpg", Url = url, Size = size }, CancellationToken.None))).Reason;

        Assert.Equal(AttachmentRejection.HostNotAllowed, await Reason("https://evil.example/a.jpg", 10));
        Assert.Equal(AttachmentRejection.HostNotAllowed, await Reason(big.Replace("127.0.0.1", "localhost", StringComparison.Ordinal), 10));
        Assert.Equal(AttachmentRejection.TooLarge, await Reason(big, 5000));
        Assert.Empty(h.Fake.CdnDownloads);
        Assert.Equal(AttachmentRejection.TooLarge, await Reason(big, 10)); // lied about its size
        Assert.Equal(AttachmentRejection.NotAnImage, await Reason(text, 10));
        Assert.False(downloader.IsAllowed("http://cdn.discordapp.com/a.jpg"), "plain http only for loopback");
    }

    [Fact]
    public void Composer_makes_safe_unique_attachment_names()
    {
        var reply = new DiscordReply
        {
            Text = "x",
            Images = [new ReplyImage("../../etc/pass wd", Jpeg(1), "image/png"), new ReplyImage("a.jpg", Jpeg(2), "image/jpeg"), new ReplyImage("a.jpg", Jpeg(3), "image/jpeg")],
        };

        var composed = ReplyComposer.Compose(reply, DiscordReplyLayout.ComponentsV2);

        Assert.Equal(["01-pass_wd.png", "02-a.jpg", "03-a.jpg"], composed.Files.Select(f => f.FileName));
    }
}
