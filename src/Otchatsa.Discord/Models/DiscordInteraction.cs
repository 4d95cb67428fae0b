using System.Text.Json;

namespace Otchatsa.Discord.Models;

/// <summary>Interaction types in INTERACTION_CREATE.</summary>
public enum InteractionType
{
    Ping = 1,
    ApplicationCommand = 2,
    MessageComponent = 3,
    ApplicationCommandAutocomplete = 4,
    ModalSubmit = 5,
}

/// <summary>An INTERACTION_CREATE payload. <see cref="Token"/> is a secret valid for 15 minutes.</summary>
public sealed record DiscordInteraction
{
    public string Id { get; init; } = "";
    public string ApplicationId { get; init; } = "";
    public InteractionType Type { get; init; }
    public DiscordInteractionData? Data { get; init; }
    public string? GuildId { get; init; }
    public string? ChannelId { get; init; }
    public DiscordMember? Member { get; init; }
    public DiscordUser? User { get; init; }
    public string Token { get; init; } = "";

    /// <summary>The invoking user: <c>member.user</c> in guilds, <c>user</c> in DMs.</summary>
    public DiscordUser? Invoker => Member?.User ?? User;
}

/// <summary>The <c>data</c> of an application command interaction.</summary>
public sealed record DiscordInteractionData
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public ApplicationCommandType Type { get; init; }
    public IReadOnlyList<DiscordInteractionOption> Options { get; init; } = [];
    public DiscordResolvedData? Resolved { get; init; }

    /// <summary>For context-menu commands: the id of the message or user the command was run on.</summary>
    public string? TargetId { get; init; }
}

/// <summary>One option value of a slash command.</summary>
public sealed record DiscordInteractionOption
{
    public string Name { get; init; } = "";
    public ApplicationCommandOptionType Type { get; init; }
    public JsonElement? Value { get; init; }
}

/// <summary>Objects referenced by id from options or <c>target_id</c>.</summary>
public sealed record DiscordResolvedData
{
    public IReadOnlyDictionary<string, DiscordAttachment>? Attachments { get; init; }
    public IReadOnlyDictionary<string, DiscordMessage>? Messages { get; init; }
}
