using System.Text.Json.Serialization;

namespace Otchatsa.Discord.Models;

/// <summary>Application command types.</summary>
public enum ApplicationCommandType
{
    ChatInput = 1,
    User = 2,
    Message = 3,
}

/// <summary>Application command option types used here (and a few neighbours for completeness).</summary>
public enum ApplicationCommandOptionType
{
    SubCommand = 1,
    SubCommandGroup = 2,
    String = 3,
    Integer = 4,
    Boolean = 5,
    User = 6,
    Channel = 7,
    Role = 8,
    Mentionable = 9,
    Number = 10,
    Attachment = 11,
}

/// <summary>Where a global command may be used (interaction context types).</summary>
public enum InteractionContextType
{
    Guild = 0,
    BotDm = 1,
    PrivateChannel = 2,
}

/// <summary>A command definition as sent to the bulk-overwrite endpoints.</summary>
public sealed record ApplicationCommandProperties
{
    public string Name { get; init; } = "";
    public ApplicationCommandType Type { get; init; } = ApplicationCommandType.ChatInput;

    /// <summary>1–100 characters for slash commands; must be omitted for context-menu commands.</summary>
    public string? Description { get; init; }

    public IReadOnlyList<ApplicationCommandOption>? Options { get; init; }

    /// <summary>Only meaningful for global commands; guild commands are always guild-only.</summary>
    public IReadOnlyList<InteractionContextType>? Contexts { get; init; }

    /// <summary>0 = guild install; only for global commands.</summary>
    public IReadOnlyList<int>? IntegrationTypes { get; init; }
}

/// <summary>One option of a slash command.</summary>
public sealed record ApplicationCommandOption
{
    public ApplicationCommandOptionType Type { get; init; }
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public bool? Required { get; init; }
    public IReadOnlyList<ApplicationCommandChoice>? Choices { get; init; }
}

/// <summary>A fixed choice of a STRING option: <see cref="Name"/> is shown, <see cref="Value"/> is sent back.</summary>
public sealed record ApplicationCommandChoice(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

/// <summary>A registered command as Discord returns it.</summary>
public sealed record ApplicationCommand
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public ApplicationCommandType Type { get; init; }
}
