namespace Otchatsa.Discord.Gateway;

/// <summary>Gateway intents: which events Discord sends on this connection.</summary>
[Flags]
public enum GatewayIntents
{
    None = 0,
    Guilds = 1 << 0,
    GuildMessages = 1 << 9,
    DirectMessages = 1 << 12,

    /// <summary>
    /// Privileged (enable it in the developer portal first, else the gateway closes with 4014). Without it guild
    /// messages arrive with empty content and attachments unless they mention the bot — enough for "@bot + photo".
    /// </summary>
    MessageContent = 1 << 15,

    /// <summary>What the bot needs: servers, guild messages and DMs, no privileged intent.</summary>
    Default = Guilds | GuildMessages | DirectMessages,
}
