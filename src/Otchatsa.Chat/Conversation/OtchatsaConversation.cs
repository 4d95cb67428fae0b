using System.Text;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Rendering;
using Otchatsa.Styles;

namespace Otchatsa.Conversation;

/// <summary>
/// The conversation core every front end shares (Telegram, Discord, <c>otchatsa chat</c>): turns a photo or a command
/// into a <see cref="ChatReply"/>. Stateless apart from <see cref="IChatPreferences"/>; thread-safe; one per process.
/// Front ends decide whether a message is addressed to the bot, download photos, and render the reply.
/// </summary>
public sealed class OtchatsaConversation(OtchatsaRuntime runtime, IChatPreferences preferences, IRecommendationStrategy? strategy = null)
{
    private const int MaxTextLength = 4096;
    private readonly IRecommendationStrategy _strategy = strategy ?? Strategies.Create(null);

    public OtchatsaRuntime Runtime { get; } = runtime;

    public IChatPreferences Preferences { get; } = preferences;

    /// <summary>Largest photo accepted, in bytes (the engine's limit, 20 MB).</summary>
    public long MaxPhotoBytes => Runtime.Engine.Limits.MaxBytes;

    /// <summary>The chat's stored language, else the one the user's client reports, else English.</summary>
    public ChatLanguage LanguageFor(ChatKey chat, string? userLanguageCode) =>
        Preferences.GetLanguage(chat) ?? ChatLanguages.FromLanguageCode(userLanguageCode);

    /// <summary>Style, three malls and nine items for a photo; a refused photo gives a polite <see cref="ReplyKind.Problem"/>.</summary>
    public ChatReply AnswerPhoto(byte[] photo, ChatContext context)
    {
        ArgumentNullException.ThrowIfNull(photo);
        ArgumentNullException.ThrowIfNull(context);
        if (photo.LongLength > MaxPhotoBytes)
        {
            return Problem(PhotoProblem.TooLarge, context.Language);
        }
        RecommendResult result;
        try
        {
            result = Runtime.Recommender.Recommend(photo, _strategy);
        }
        catch (ImageRejectedException ex)
        {
            return Problem(ToProblem(ex.Code), context.Language, ex.Code.ToWire());
        }
        return Describe(result, context);
    }

    /// <summary>Answers a command meant for the bot. <c>/style</c> without an argument gives its usage; a front end that
    /// sees it as a reply to a photo calls <see cref="AnswerPhoto"/> instead.</summary>
    public ChatReply AnswerCommand(ParsedCommand command, ChatContext context)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(context);
        var lang = context.Language;
        switch (command.Name)
        {
            case ParsedCommand.Start:
                return ChatReply.Plain(ReplyKind.Help, ChatTexts.Greeting(lang) + "\n\n" + ChatTexts.Help(lang));
            case ParsedCommand.Help:
                return ChatReply.Plain(ReplyKind.Help, ChatTexts.Help(lang));
            case ParsedCommand.Styles:
                return ListStyles(lang);
            case ParsedCommand.Style:
                return command.Argument.Length == 0
                    ? ChatReply.Plain(ReplyKind.Help, ChatTexts.StyleUsage(lang))
                    : LookUpStyle(command.Argument, lang);
            case ParsedCommand.Lang:
                if (!ChatLanguages.TryParse(command.Argument, out var chosen))
                {
                    return ChatReply.Plain(ReplyKind.Language, ChatTexts.LanguageUsage(lang));
                }
                Preferences.SetLanguage(context.Chat, chosen);
                return ChatReply.Plain(ReplyKind.Language, ChatTexts.LanguageSet(chosen));
            default:
                return ChatReply.Plain(ReplyKind.UnknownCommand, ChatTexts.UnknownCommand(lang));
        }
    }

    /// <summary>A plain message that is neither a photo nor a command (private chats only).</summary>
    public ChatReply AnswerText(ChatContext context) => ChatReply.Plain(ReplyKind.Help, ChatTexts.SendPhoto(context.Language));

    public ChatReply Busy(TimeSpan retryAfter, ChatLanguage language) =>
        ChatReply.Plain(ReplyKind.Busy, ChatTexts.Busy(Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)), language), "busy");

    public ChatReply Problem(PhotoProblem problem, ChatLanguage language, string? code = null) =>
        ChatReply.Plain(ReplyKind.Problem, ChatTexts.Problem(problem, language, MaxPhotoBytes / (1024 * 1024)), code ?? ToWire(problem));

    /// <summary>The reply for an already computed result (the console and tests reuse a result).</summary>
    public ChatReply Describe(RecommendResult result, ChatContext context)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(context);
        var lang = context.Language;
        var text = new StringBuilder();
        AppendVerdict(text, result, lang);
        text.AppendLine();
        var links = AppendMalls(text, result.Recommendation, lang);
        var (images, collage) = Pictures(result, context.Layout);
        return new ChatReply(ReplyKind.Recommendation, Clip(text.ToString().TrimEnd()), links, images, collage);
    }

    /// <summary>What the photo is: not an outfit / no person, then the style (or the candidates when unsure).</summary>
    private static void AppendVerdict(StringBuilder text, RecommendResult result, ChatLanguage lang)
    {
        var rec = result.Recommendation;
        if (rec.NotAnOutfit)
        {
            text.AppendLine(ChatTexts.NotAnOutfit(lang));
        }
        else if (!result.Analysis.Person.Found)
        {
            text.AppendLine(ChatTexts.NoPerson(lang));
        }
        if (rec.Style is not { } top)
        {
            if (!rec.NotAnOutfit)
            {
                text.AppendLine(ChatTexts.NoStyle(lang));
            }
            return;
        }
        if (rec.Unsure)
        {
            // Not sure: name the two or three candidates, and the parent category when that is certain.
            var candidates = rec.TopStyles.Where(s => s.Score > 0).Take(OutfitRecommender.TopStyleCount)
                .Select(s => $"{ChatTexts.Short(s.Style, lang)} {ChatTexts.Percent(s.Score)}");
            text.AppendLine(ChatTexts.UnsureCandidates(string.Join(" · ", candidates), lang));
            if (rec.Parent is { } parent)
            {
                text.AppendLine(ChatTexts.SureParent(parent, lang));
            }
            return;
        }
        text.AppendLine(ChatTexts.StyleLine(top.Style, top.Score, lang));
        var others = rec.TopStyles.Skip(1).Where(s => s.Score > 0).ToArray();
        if (others.Length > 0)
        {
            text.AppendLine(ChatTexts.RunnerUps(
                string.Join(" · ", others.Select(s => $"{ChatTexts.Short(s.Style, lang)} {ChatTexts.Percent(s.Score)}")), lang));
        }
    }

    /// <summary>The three malls, ranked, each with why; returns their web links.</summary>
    private static List<ChatLink> AppendMalls(StringBuilder text, Recommendation rec, ChatLanguage lang)
    {
        var links = new List<ChatLink>();
        if (rec.Malls.Count == 0)
        {
            text.AppendLine(ChatTexts.NoMalls(lang));
            return links;
        }
        text.AppendLine(ChatTexts.MallsHeader(lang));
        var rank = 1;
        foreach (var mall in rec.Malls)
        {
            var similarity = mall.Items.Count == 0 ? 0f : mall.Items.Average(i => i.Similarity);
            text.AppendLine($"{rank++}. {mall.Mall.Name} — {ChatTexts.MallReason(rec.Style?.Style, mall.StyleShare, similarity, lang)}");
            if (IsWebLink(mall.Mall.Url))
            {
                links.Add(new ChatLink(mall.Mall.Name, mall.Mall.Url!));
            }
        }
        return links;
    }

    /// <summary>The nine items: one 3×3 collage (groups) or separate captioned images (an album).</summary>
    private (List<ChatImage> Images, ChatImage? Collage) Pictures(RecommendResult result, ReplyLayout layout)
    {
        var rec = result.Recommendation;
        var images = new List<ChatImage>();
        if (layout == ReplyLayout.Collage)
        {
            if (!rec.Malls.Any(m => m.Items.Count > 0))
            {
                return (images, null);
            }
            var rendered = AnswerCollage.Render(Runtime.Index, result);
            return (images, new ChatImage(rendered.Bytes, "otchatsa.png", rendered.MediaType, null));
        }
        var n = 0;
        foreach (var mall in rec.Malls)
        {
            foreach (var item in mall.Items)
            {
                n++;
                if (Runtime.Index.Thumbnail(item.Item.Key) is { Length: > 0 } thumb)
                {
                    images.Add(new ChatImage(thumb, $"item{n}.jpg", "image/jpeg", ItemCaption(mall, item)));
                }
            }
        }
        return (images, null);
    }

    private static string ItemCaption(MallMatch mall, ItemMatch item)
    {
        var parts = new List<string> { mall.Mall.Name };
        if (!string.IsNullOrWhiteSpace(item.Item.Title))
        {
            parts.Add(item.Item.Title!);
        }
        if (!string.IsNullOrWhiteSpace(item.Item.Price))
        {
            parts.Add(item.Item.Price!);
        }
        var caption = string.Join(" · ", parts);
        if (IsWebLink(item.Item.Url))
        {
            caption += "\n" + item.Item.Url;
        }
        return caption.Length <= 1024 ? caption : caption[..1023] + "…";
    }

    private ChatReply ListStyles(ChatLanguage lang)
    {
        var known = Runtime.Recommender.Classifier.Classes.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var shown = known.Count > 0 ? StyleTaxonomy.All.Where(s => known.Contains(s.Id)).ToArray() : StyleTaxonomy.All;
        var text = new StringBuilder();
        text.AppendLine(known.Count > 0
            ? ChatTexts.KnownStylesHeader(shown.Count, StyleTaxonomy.All.Count, lang)
            : ChatTexts.NoKnownStyles(StyleTaxonomy.All.Count, lang));
        var seen = (Runtime.Recommender.Classifier as IStyleHeadInfo)?.Examples;
        var counted = seen is { Count: > 0 };
        foreach (var parent in StyleTaxonomy.Parents)
        {
            var members = shown.Where(s => s.Parent == parent.Id).ToArray();
            if (members.Length > 0)
            {
                text.AppendLine($"• {ChatTexts.Parent(parent, lang)}: {string.Join(", ", members.Select(s =>
                    counted && seen!.TryGetValue(s.Id, out var n) ? ChatTexts.WithExamples(s, n, lang) : ChatTexts.Name(s, lang)))}");
            }
        }
        if (counted)
        {
            text.AppendLine(ChatTexts.ExamplesNote(lang));
        }
        text.AppendLine();
        text.Append(ChatTexts.StylesFooter(lang));
        return ChatReply.Plain(ReplyKind.StyleList, text.ToString());
    }

    private ChatReply LookUpStyle(string name, ChatLanguage lang)
    {
        if (!StyleTaxonomy.TryResolve(name, out var style))
        {
            return ChatReply.Plain(ReplyKind.UnknownCommand, ChatTexts.UnknownStyle(name.Length > 40 ? name[..40] : name, lang));
        }
        var index = Runtime.Index;
        var lookup = StyleLookup.For(Runtime, style);
        var text = new StringBuilder();
        text.AppendLine($"{ChatTexts.Name(style, lang)} — {ChatTexts.Parent(StyleTaxonomy.ParentOf(style), lang)}");
        text.AppendLine(lang == ChatLanguage.Ko ? style.DescriptionKo : style.DescriptionEn);
        if (style.Aliases.Count > 0)
        {
            text.AppendLine(ChatTexts.Aliases(string.Join(", ", style.Aliases), lang));
        }
        if (!lookup.Recognised)
        {
            text.AppendLine(ChatTexts.NotRecognised(lang));
        }
        text.AppendLine();

        var malls = lookup.Malls;
        var links = new List<ChatLink>();
        if (malls.Count == 0)
        {
            text.AppendLine(ChatTexts.NoStyleMalls(lang));
        }
        else
        {
            text.AppendLine(ChatTexts.StyleMalls(lang));
            foreach (var mall in malls)
            {
                text.AppendLine("• " + ChatTexts.StyleMallLine(mall.Name, mall.Share(style.Id), lang));
                if (IsWebLink(mall.Url))
                {
                    links.Add(new ChatLink(mall.Name, mall.Url!));
                }
            }
        }

        ChatImage? collage = null;
        var examples = lookup.Examples
            .Select(i => (Item: i, Thumb: index.Thumbnail(i.Key)))
            .Where(x => x.Thumb is { Length: > 0 })
            .Select(x => CollageTile.FromEncoded(x.Thumb!, x.Item.Title is null ? x.Item.Mall : $"{x.Item.Mall} · {x.Item.Title}"))
            .ToArray();
        if (examples.Length > 0)
        {
            var rendered = new CollageRenderer().Render(examples, style.NameEn);
            collage = new ChatImage(rendered.Bytes, $"{style.Id}.png", rendered.MediaType, null);
        }
        return new ChatReply(ReplyKind.StyleLookup, Clip(text.ToString().TrimEnd()), links, [], collage);
    }

    private static bool IsWebLink(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static string Clip(string text) => text.Length <= MaxTextLength ? text : text[..(MaxTextLength - 1)] + "…";

    private static PhotoProblem ToProblem(ImageErrorCode code) => code switch
    {
        ImageErrorCode.TooLarge => PhotoProblem.TooLarge,
        ImageErrorCode.NotAnImage or ImageErrorCode.UnsupportedFormat or ImageErrorCode.Empty => PhotoProblem.NotAnImage,
        _ => PhotoProblem.Unreadable,
    };

    private static string ToWire(PhotoProblem problem) => problem switch
    {
        PhotoProblem.NotAnImage => "not_an_image",
        PhotoProblem.TooLarge => "too_large",
        PhotoProblem.Unreadable => "corrupt",
        PhotoProblem.DownloadFailed => "download_failed",
        _ => "failed",
    };
}
