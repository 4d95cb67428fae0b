using Microsoft.Extensions.Options;
using Otchatsa.Discord;
using Otchatsa.Discord.Gateway;

namespace Otchatsa.Bot.Hosting;

/// <summary>Section <c>Otchatsa</c>: the engine and the bot's own state.</summary>
/// <summary>The worker's own keys of the <c>Otchatsa</c> section (the index and models are <see cref="Otchatsa.Hosting.EngineOptions"/>).</summary>
public sealed class OtchatsaOptions
{
    public const string Section = "Otchatsa";

    /// <summary>SQLite file with accepted jobs, polling offsets and per-chat settings.</summary>
    public string StatePath { get; set; } = "state/otchatsa-bot.db";

    /// <summary>Recommendation strategy (blend or seed).</summary>
    public string? Strategy { get; set; }

    public QueueSettings Queue { get; set; } = new();

    public RateLimitSettings RateLimit { get; set; } = new();
}

public sealed class QueueSettings
{
    public int Capacity { get; set; } = 256;
    public int Workers { get; set; } = 2;
}

public sealed class RateLimitSettings
{
    public int UserBurst { get; set; } = 5;
    public TimeSpan UserRefill { get; set; } = TimeSpan.FromSeconds(12);
    public int ChatBurst { get; set; } = 20;
    public TimeSpan ChatRefill { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>How the nine items are shown in group chats.</summary>
public enum GroupReplyStyle
{
    Collage,
    Album,
}

/// <summary>Section <c>Telegram</c>.</summary>
public sealed class TelegramOptions
{
    public const string Section = "Telegram";

    public bool Enabled { get; set; }

    /// <summary>From @BotFather (<c>123456:ABC…</c>). Keep it in user secrets or an environment variable; never logged.</summary>
    public string BotToken { get; set; } = "";

    public string ApiBaseUrl { get; set; } = "https://api.telegram.org";

    public GroupReplyStyle GroupReply { get; set; } = GroupReplyStyle.Collage;

    /// <summary>Long-polling wait per <c>getUpdates</c>.</summary>
    public TimeSpan PollTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>First wait after a failed poll; doubles per failure, with jitter, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A 429 is waited out and the request repeated while <c>retry_after</c> ≤ this many seconds.</summary>
    public int RetryThreshold { get; set; } = 60;

    /// <summary>Retries of one Bot API request after a failure that is safe to retry (see docs/operations.md).</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>One Bot API request (other than getUpdates) is abandoned after this long.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

internal sealed class OtchatsaOptionsValidator : IValidateOptions<OtchatsaOptions>
{
    public ValidateOptionsResult Validate(string? name, OtchatsaOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.StatePath))
        {
            errors.Add("Otchatsa:StatePath is required.");
        }
        if (options.Strategy is { Length: > 0 } s && s is not ("blend" or "seed"))
        {
            errors.Add("Otchatsa:Strategy must be blend or seed.");
        }
        if (options.Queue.Capacity < 1 || options.Queue.Workers < 1)
        {
            errors.Add("Otchatsa:Queue needs Capacity and Workers ≥ 1.");
        }
        var rl = options.RateLimit;
        if (rl.UserBurst < 1 || rl.ChatBurst < 1 || rl.UserRefill <= TimeSpan.Zero || rl.ChatRefill <= TimeSpan.Zero)
        {
            errors.Add("Otchatsa:RateLimit needs bursts ≥ 1 and positive refill intervals.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class TelegramOptionsValidator : IValidateOptions<TelegramOptions>
{
    public ValidateOptionsResult Validate(string? name, TelegramOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }
        var errors = new List<string>();
        // The message never repeats the token, only what is wrong with it.
        if (!LooksLikeToken(options.BotToken))
        {
            errors.Add("Telegram:BotToken is missing or malformed (expected '<digits>:<secret>' from @BotFather).");
        }
        if (!Uri.TryCreate(options.ApiBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add("Telegram:ApiBaseUrl must be an absolute http(s) URL.");
        }
        if (options.PollTimeout < TimeSpan.Zero || options.PollTimeout > TimeSpan.FromSeconds(50))
        {
            errors.Add("Telegram:PollTimeout must be between 0 and 50 s.");
        }
        if (options.InitialBackoff <= TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
        {
            errors.Add("Telegram:InitialBackoff must be positive and ≤ Telegram:MaxBackoff.");
        }
        if (options.MaxRetries < 0 || options.RequestTimeout < TimeSpan.FromMilliseconds(10) || options.RequestTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("Telegram:MaxRetries must be ≥ 0 and Telegram:RequestTimeout between 10 ms and 1 h.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool LooksLikeToken(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return false;
        }
        var colon = token.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
               && token[..colon].All(char.IsAsciiDigit)
               && token.Length > colon + 1
               && token[(colon + 1)..].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
    }
}

/// <summary>Checks the Discord client's options, bound directly from the <c>Discord</c> section (registered only when Discord:Enabled).</summary>
internal sealed class DiscordOptionsValidator : IValidateOptions<DiscordClientOptions>
{
    public ValidateOptionsResult Validate(string? name, DiscordClientOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BotToken))
        {
            errors.Add("Discord:BotToken is required when Discord:Enabled is true.");
        }
        if (options.ApiBaseUrl is not { IsAbsoluteUri: true })
        {
            errors.Add("Discord:ApiBaseUrl must be an absolute URL.");
        }
        if (options.CommandGuildId is { Length: > 0 } guild && !ulong.TryParse(guild, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            errors.Add("Discord:CommandGuildId must be a guild id (digits).");
        }
        if (options.AttachmentHosts.Count == 0)
        {
            errors.Add("Discord:AttachmentHosts must name at least one host.");
        }
        if (options.MaxAttachmentBytes < 1)
        {
            errors.Add("Discord:MaxAttachmentBytes must be positive.");
        }
        if (options.AutoDeferAfter <= TimeSpan.Zero || options.AutoDeferAfter >= TimeSpan.FromSeconds(3))
        {
            errors.Add("Discord:AutoDeferAfter must be between 0 and 3 s (Discord drops interactions not answered within 3 s).");
        }
        if (options.MaxRetries < 0 || options.RetryBaseDelay < TimeSpan.Zero
            || options.RequestTimeout < TimeSpan.FromMilliseconds(10) || options.RequestTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("Discord:MaxRetries and Discord:RetryBaseDelay must be ≥ 0 and Discord:RequestTimeout between 10 ms and 1 h.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
