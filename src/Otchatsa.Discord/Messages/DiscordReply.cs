namespace Otchatsa.Discord.Messages;

/// <summary>
/// What the bot wants to say, independent of layout: markdown text and up to ten images uploaded with it.
/// <see cref="ReplyComposer"/> turns it into Components V2 or embeds.
/// </summary>
public sealed record DiscordReply
{
    /// <summary>Markdown text (the style, the mall links, the reason).</summary>
    public required string Text { get; init; }

    /// <summary>Images uploaded as attachments and shown in a gallery.</summary>
    public IReadOnlyList<ReplyImage> Images { get; init; } = [];

    /// <summary>Only the invoking user sees it (interactions only).</summary>
    public bool Ephemeral { get; init; }
}

/// <summary>One uploaded image of a reply.</summary>
/// <param name="FileName">Name hint; the composer makes it unique and safe for <c>attachment://</c>.</param>
/// <param name="Content">Encoded image (JPEG, PNG, WebP or GIF).</param>
/// <param name="ContentType">Its MIME type.</param>
public sealed record ReplyImage(string FileName, ReadOnlyMemory<byte> Content, string ContentType)
{
    /// <summary>Alt text / caption (≤ 1024 characters in a gallery).</summary>
    public string? Description { get; init; }

    /// <summary>
    /// A link shared by the images of one group (a mall's page): in the embed layout, embeds with the same URL are
    /// shown by Discord as one grid.
    /// </summary>
    public string? GroupUrl { get; init; }
}
