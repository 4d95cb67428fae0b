using System.Text;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;

namespace Otchatsa.Discord.Messages;

/// <summary>A message body and the files it refers to.</summary>
/// <param name="Message">The JSON part (<c>payload_json</c> when there are files).</param>
/// <param name="Files">The uploads, in <c>files[n]</c> order.</param>
public sealed record ComposedMessage(MessageProperties Message, IReadOnlyList<RestFile> Files);

/// <summary>Lays out a <see cref="DiscordReply"/> within Discord's limits.</summary>
public static class ReplyComposer
{
    /// <summary>Text Display content limit (the whole message's text components share 4000 characters).</summary>
    public const int MaxTextDisplayLength = 4000;

    /// <summary>Embed description limit.</summary>
    public const int MaxEmbedDescriptionLength = 4096;

    /// <summary>Items per media gallery.</summary>
    public const int MaxGalleryItems = 10;

    /// <summary>Files per message.</summary>
    public const int MaxFiles = 10;

    /// <summary>Builds the message for <paramref name="layout"/>.</summary>
    public static ComposedMessage Compose(DiscordReply reply, DiscordReplyLayout layout)
    {
        var images = reply.Images.Take(layout == DiscordReplyLayout.ComponentsV2 ? MaxFiles : MaxFiles - 1).ToArray();
        var names = UniqueFileNames(images);
        var files = images.Select((image, i) => new RestFile(names[i], image.Content, image.ContentType)).ToArray();
        var attachments = names.Select((name, i) => new AttachmentReference(i, name)).ToArray();
        var ephemeral = reply.Ephemeral ? MessageFlags.Ephemeral : MessageFlags.None;

        if (layout == DiscordReplyLayout.ComponentsV2)
        {
            var components = new List<MessageComponent> { new TextDisplayComponent(Truncate(reply.Text, MaxTextDisplayLength)) };
            if (images.Length > 0)
            {
                components.Add(new MediaGalleryComponent(images
                    .Select((image, i) => new MediaGalleryItem(
                        new UnfurledMediaItem("attachment://" + names[i]),
                        image.Description is null ? null : Truncate(image.Description, 1024)))
                    .ToArray()));
            }

            return new ComposedMessage(
                new MessageProperties
                {
                    Components = components,
                    Attachments = attachments.Length > 0 ? attachments : null,
                    Flags = MessageFlags.IsComponentsV2 | ephemeral,
                },
                files);
        }

        var embeds = new List<Embed> { new() { Description = Truncate(reply.Text, MaxEmbedDescriptionLength) } };
        embeds.AddRange(images.Select((image, i) => new Embed
        {
            Url = image.GroupUrl,
            Image = new EmbedMedia("attachment://" + names[i]),
        }));
        return new ComposedMessage(
            new MessageProperties
            {
                Embeds = embeds,
                Attachments = attachments.Length > 0 ? attachments : null,
                Flags = ephemeral == MessageFlags.None ? null : ephemeral,
            },
            files);
    }

    /// <summary>Makes <paramref name="message"/> a reply to <paramref name="source"/> that pings nobody.</summary>
    public static MessageProperties AsReplyTo(MessageProperties message, DiscordMessage source) => message with
    {
        MessageReference = new MessageReference
        {
            MessageId = source.Id,
            ChannelId = source.ChannelId,
            GuildId = source.GuildId,
            FailIfNotExists = false,
        },
        AllowedMentions = AllowedMentions.None,
    };

    private static string[] UniqueFileNames(IReadOnlyList<ReplyImage> images)
    {
        var names = new string[images.Count];
        for (var i = 0; i < images.Count; i++)
        {
            var safe = new StringBuilder();
            foreach (var c in Path.GetFileName(images[i].FileName))
            {
                safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
            }

            var name = safe.Length == 0 ? "image" : safe.ToString();
            if (!Path.HasExtension(name))
            {
                name += images[i].ContentType switch
                {
                    "image/png" => ".png",
                    "image/webp" => ".webp",
                    "image/gif" => ".gif",
                    _ => ".jpg",
                };
            }

            // The index prefix keeps names unique even when two malls both have "1.jpg".
            names[i] = $"{i + 1:00}-{name}";
        }

        return names;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
