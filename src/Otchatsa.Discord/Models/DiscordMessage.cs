namespace Otchatsa.Discord.Models;

/// <summary>The parts of a MESSAGE_CREATE payload (and of resolved messages) the bot reads.</summary>
public sealed record DiscordMessage
{
    public string Id { get; init; } = "";
    public string ChannelId { get; init; } = "";
    public string? GuildId { get; init; }
    public DiscordUser Author { get; init; } = new();
    public string? WebhookId { get; init; }
    public string Content { get; init; } = "";
    public IReadOnlyList<DiscordUser> Mentions { get; init; } = [];
    public IReadOnlyList<DiscordAttachment> Attachments { get; init; } = [];
    public MessageReference? MessageReference { get; init; }

    /// <summary>The message this one replies to, when Discord includes it.</summary>
    public DiscordMessage? ReferencedMessage { get; init; }

    /// <summary>True when the message was sent in a DM (no guild).</summary>
    public bool IsDirectMessage => GuildId is null;

    /// <summary>Whether <paramref name="userId"/> is @mentioned (replies to a user also list them as mentioned).</summary>
    public bool MentionsUser(string userId) => Mentions.Any(m => m.Id == userId);
}
