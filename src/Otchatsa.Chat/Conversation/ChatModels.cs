namespace Otchatsa.Conversation;

/// <summary>Language of the replies in one chat.</summary>
public enum ChatLanguage
{
    En,
    Ko,
}

/// <summary>How a front end wants the nine items: separate images (a private-chat album) or one 3×3 collage (groups).</summary>
public enum ReplyLayout
{
    Album,
    Collage,
}

/// <summary>What kind of answer a <see cref="ChatReply"/> is; front ends use it for logging and for group etiquette.</summary>
public enum ReplyKind
{
    Recommendation,
    StyleLookup,
    StyleList,
    Help,
    Language,
    Busy,
    Problem,
    UnknownCommand,
}

/// <summary>Why a photo could not be answered; each has one short polite reply.</summary>
public enum PhotoProblem
{
    NotAnImage,
    TooLarge,
    Unreadable,
    DownloadFailed,
    Failed,
}

/// <summary>A chat on one network ("telegram", "discord", "console"), used as the key of stored preferences.</summary>
public readonly record struct ChatKey(string Network, string ChatId)
{
    public override string ToString() => $"{Network}:{ChatId}";
}

/// <summary>Who is asking and how the front end will show the answer.</summary>
public sealed record ChatContext(ChatKey Chat, ChatLanguage Language, ReplyLayout Layout = ReplyLayout.Album);

/// <summary>A link the front end shows as a button (Telegram inline URL button, Discord link button) or prints.</summary>
public sealed record ChatLink(string Label, string Url);

/// <summary>An image to send, with its caption (for an album item) already in the chat's language.</summary>
public sealed record ChatImage(byte[] Bytes, string FileName, string MediaType, string? Caption);

/// <summary>
/// One answer, independent of the chat network: plain <see cref="Text"/> (no markup, ≤ 4096 characters), link buttons,
/// the item images (album layout) and/or one collage image.
/// </summary>
public sealed record ChatReply(
    ReplyKind Kind,
    string Text,
    IReadOnlyList<ChatLink> Links,
    IReadOnlyList<ChatImage> Images,
    ChatImage? Collage,
    string? ErrorCode = null)
{
    public static ChatReply Plain(ReplyKind kind, string text, string? errorCode = null) => new(kind, text, [], [], null, errorCode);
}
