using System.Text;
using Otchatsa.Conversation;
using Otchatsa.Discord.Messages;

namespace Otchatsa.Bot.Discord;

/// <summary>Turns the network-neutral <see cref="ChatReply"/> into a <see cref="DiscordReply"/>.</summary>
public static class DiscordReplies
{
    /// <summary>
    /// Text → markdown (the core's plain text escaped, then the malls as markdown links); item images → gallery images
    /// whose <see cref="ReplyImage.GroupUrl"/> is their mall's link (the embed fallback groups them by it); a collage →
    /// one image.
    /// </summary>
    public static DiscordReply From(ChatReply reply, bool ephemeral = false)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var text = new StringBuilder(Escape(reply.Text));
        if (reply.Links.Count > 0)
        {
            text.Append("\n\n");
            text.AppendJoin(" · ", reply.Links.Select(l => $"🛍️ [{EscapeLabel(l.Label)}]({EscapeUrl(l.Url)})"));
        }

        var images = new List<ReplyImage>();
        foreach (var image in reply.Images)
        {
            images.Add(new ReplyImage(image.FileName, image.Bytes, image.MediaType)
            {
                Description = image.Caption,
                GroupUrl = MallLinkOf(image, reply.Links),
            });
        }
        if (reply.Collage is { } collage)
        {
            images.Add(new ReplyImage(collage.FileName, collage.Bytes, collage.MediaType) { GroupUrl = reply.Links.FirstOrDefault()?.Url });
        }
        return new DiscordReply { Text = text.ToString(), Images = images, Ephemeral = ephemeral };
    }

    // The core captions an item "Mall · title · price\nurl"; the caption's mall names the link it belongs to.
    private static string? MallLinkOf(ChatImage image, IReadOnlyList<ChatLink> links) =>
        image.Caption is { } caption
            ? links.FirstOrDefault(l => caption == l.Label
                                        || caption.StartsWith(l.Label + " ·", StringComparison.Ordinal)
                                        || caption.StartsWith(l.Label + "\n", StringComparison.Ordinal))?.Url
            : null;

    // The core writes plain text; without escaping, a mall called "*bold*" or a "_" in a title would turn into markup.
    private static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c is '\\' or '*' or '_' or '~' or '`' or '|' or '[' or ']')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    private static string EscapeLabel(string label) => Escape(label);

    // Parentheses and spaces would end a markdown link early.
    private static string EscapeUrl(string url) =>
        url.Replace(" ", "%20", StringComparison.Ordinal)
           .Replace("(", "%28", StringComparison.Ordinal)
           .Replace(")", "%29", StringComparison.Ordinal);
}
