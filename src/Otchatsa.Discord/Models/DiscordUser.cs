namespace Otchatsa.Discord.Models;

/// <summary>A Discord user as it appears in messages and interactions.</summary>
public sealed record DiscordUser
{
    public string Id { get; init; } = "";
    public string Username { get; init; } = "";
    public string? GlobalName { get; init; }

    /// <summary>True for bot accounts; their messages are never answered.</summary>
    public bool Bot { get; init; }
}

/// <summary>A guild member wrapper; interactions in guilds carry the user here.</summary>
public sealed record DiscordMember
{
    public DiscordUser? User { get; init; }
    public string? Nick { get; init; }
}
