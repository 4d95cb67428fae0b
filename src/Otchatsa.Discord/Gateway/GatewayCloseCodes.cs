namespace Otchatsa.Discord.Gateway;

/// <summary>What to do after a connection ended.</summary>
public enum GatewayCloseAction
{
    /// <summary>Reconnect to <c>resume_gateway_url</c> and send Resume.</summary>
    Resume,

    /// <summary>Forget the session; reconnect and Identify.</summary>
    NewSession,

    /// <summary>Configuration error: stop, do not reconnect.</summary>
    Fatal,
}

/// <summary>Discord's gateway close codes and what each means for the client.</summary>
public static class GatewayCloseCodes
{
    /// <summary>Classifies a close code sent by Discord (null: the connection dropped without one).</summary>
    public static GatewayCloseAction Classify(int? code) => code switch
    {
        4004 or 4010 or 4011 or 4012 or 4013 or 4014 => GatewayCloseAction.Fatal,
        4007 or 4009 => GatewayCloseAction.NewSession,
        _ => GatewayCloseAction.Resume,
    };

    /// <summary>A one-line explanation for logs, with the fix for the fatal codes.</summary>
    public static string Describe(int? code) => code switch
    {
        null => "connection dropped without a close code",
        4000 => "unknown error",
        4001 => "unknown opcode sent",
        4002 => "decode error",
        4003 => "not authenticated",
        4004 => "authentication failed: Discord:BotToken is wrong or was reset in the developer portal",
        4005 => "already authenticated",
        4007 => "invalid sequence on resume",
        4008 => "rate limited (too many gateway sends)",
        4009 => "session timed out",
        4010 => "invalid shard",
        4011 => "sharding required: the bot is in too many guilds for one connection",
        4012 => "invalid API version",
        4013 => "invalid intents value",
        4014 => "disallowed intents: enable the privileged intent (Message Content) for the bot in the developer " +
                "portal, or remove MessageContent from Discord:Intents",
        _ => $"close code {code}",
    };
}

/// <summary>The gateway stopped for good (a fatal close code or a rejected token).</summary>
public sealed class GatewayFatalException(int? closeCode, string message) : Exception(message)
{
    /// <summary>The close code that ended the gateway, if it was one.</summary>
    public int? CloseCode { get; } = closeCode;
}
