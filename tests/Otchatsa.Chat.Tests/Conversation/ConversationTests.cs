using Microsoft.Extensions.Time.Testing;
using Otchatsa.Conversation;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;

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

}
