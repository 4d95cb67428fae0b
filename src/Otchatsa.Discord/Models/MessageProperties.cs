using System.Text.Json.Serialization;

namespace Otchatsa.Discord.Models;

/// <summary>Message flags used by the bot.</summary>
[Flags]
public enum MessageFlags
{
    None = 0,
    Ephemeral = 1 << 6,
    IsComponentsV2 = 1 << 15,
}

/// <summary>
/// The body of create-message, interaction-callback data, edit-original and follow-up requests. With
/// <see cref="MessageFlags.IsComponentsV2"/> set, <see cref="Content"/> and <see cref="Embeds"/> must stay null.
/// </summary>
public sealed record MessageProperties
{
    public string? Content { get; init; }
    public IReadOnlyList<Embed>? Embeds { get; init; }
    public AllowedMentions? AllowedMentions { get; init; }
    public MessageReference? MessageReference { get; init; }
    public IReadOnlyList<MessageComponent>? Components { get; init; }
    public IReadOnlyList<AttachmentReference>? Attachments { get; init; }
    public MessageFlags? Flags { get; init; }

    /// <summary>
    /// Create-message only: with <see cref="EnforceNonce"/>, Discord returns the message already created with this
    /// nonce in the past few minutes instead of creating a second one, which makes the POST safe to repeat.
    /// </summary>
    public string? Nonce { get; init; }

    /// <summary>Asks Discord to deduplicate on <see cref="Nonce"/>.</summary>
    public bool? EnforceNonce { get; init; }
}

/// <summary>Which mentions in the message may ping; <c>parse: []</c> pings nobody.</summary>
public sealed record AllowedMentions
{
    /// <summary>An instance that pings nobody, not even the author of the replied-to message.</summary>
    public static AllowedMentions None { get; } = new();

    public IReadOnlyList<string> Parse { get; init; } = [];
    public bool RepliedUser { get; init; }
}

/// <summary>Makes a message a reply to another.</summary>
public sealed record MessageReference
{
    public string? MessageId { get; init; }
    public string? ChannelId { get; init; }
    public string? GuildId { get; init; }

    /// <summary>False so a reply still goes out when the source message was deleted meanwhile.</summary>
    public bool? FailIfNotExists { get; init; }
}

/// <summary>Declares an uploaded file (<c>files[id]</c>) so components and embeds can refer to it.</summary>
public sealed record AttachmentReference(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("description")] string? Description = null);

/// <summary>A classic embed (fallback layout).</summary>
public sealed record Embed
{
    public string? Title { get; init; }
    public string? Description { get; init; }
    public string? Url { get; init; }
    public int? Color { get; init; }
    public EmbedMedia? Image { get; init; }
    public EmbedMedia? Thumbnail { get; init; }
    public EmbedFooter? Footer { get; init; }
}

/// <summary>An embed image; <c>attachment://name</c> refers to an uploaded file.</summary>
public sealed record EmbedMedia([property: JsonPropertyName("url")] string Url);

/// <summary>Embed footer text.</summary>
public sealed record EmbedFooter([property: JsonPropertyName("text")] string Text);

/// <summary>A message component. Only the Components V2 kinds the bot sends are modelled.</summary>
[JsonDerivedType(typeof(TextDisplayComponent))]
[JsonDerivedType(typeof(MediaGalleryComponent))]
[JsonDerivedType(typeof(SeparatorComponent))]
public abstract record MessageComponent
{
    /// <summary>The component type number.</summary>
    [JsonPropertyOrder(-1)]
    public abstract int Type { get; }
}

/// <summary>Markdown text (type 10).</summary>
public sealed record TextDisplayComponent(
    [property: JsonPropertyName("content")] string Content) : MessageComponent
{
    public override int Type => 10;
}

/// <summary>A grid of 1–10 images (type 12).</summary>
public sealed record MediaGalleryComponent(
    [property: JsonPropertyName("items")] IReadOnlyList<MediaGalleryItem> Items) : MessageComponent
{
    public override int Type => 12;
}

/// <summary>A thin divider (type 14).</summary>
public sealed record SeparatorComponent : MessageComponent
{
    public override int Type => 14;
}

/// <summary>One gallery image.</summary>
public sealed record MediaGalleryItem(
    [property: JsonPropertyName("media")] UnfurledMediaItem Media,
    [property: JsonPropertyName("description")] string? Description = null);

/// <summary>A media reference: an https URL or <c>attachment://name</c>.</summary>
public sealed record UnfurledMediaItem([property: JsonPropertyName("url")] string Url);

/// <summary>Interaction callback types the bot uses.</summary>
public enum InteractionCallbackType
{
    ChannelMessageWithSource = 4,
    DeferredChannelMessageWithSource = 5,
}

/// <summary>The body of <c>POST /interactions/{id}/{token}/callback</c>.</summary>
public sealed record InteractionResponse(
    [property: JsonPropertyName("type")] InteractionCallbackType Type,
    [property: JsonPropertyName("data")] MessageProperties? Data = null);
