using Otchatsa.Discord.Gateway;

namespace Otchatsa.Discord;

/// <summary>
/// Settings of the Discord client. A class, not a record, so that a stray <c>ToString()</c> in a log line cannot
/// print <see cref="BotToken"/>.
/// </summary>
public sealed class DiscordClientOptions
{
    /// <summary>The bot token from the developer portal. Never logged.</summary>
    public string BotToken { get; set; } = "";

    /// <summary>REST base including the version; tests point it at a loopback fake.</summary>
    public Uri ApiBaseUrl
    {
        get => _apiBaseUrl;
        // Relative routes resolve under the base only when it ends with '/': "…/api/v10" is read as "…/api/v10/".
        set => _apiBaseUrl = value is { IsAbsoluteUri: true } && !value.AbsoluteUri.EndsWith('/') ? new Uri(value.AbsoluteUri + "/") : value;
    }

    private Uri _apiBaseUrl = new("https://discord.com/api/v10/");

    /// <summary>Identify intents; MESSAGE_CONTENT is opt-in.</summary>
    public GatewayIntents Intents { get; set; } = GatewayIntents.Default;

    /// <summary>Hosts attachments may be downloaded from (Discord's CDN by default).</summary>
    public IList<string> AttachmentHosts { get; set; } = ["cdn.discordapp.com", "media.discordapp.net"];

    /// <summary>
    /// Photos above this are refused before download. The default is the engine's own photo limit (20 MB), which the
    /// polite "too large" reply quotes; users with larger upload limits can attach bigger files than the bot may upload.
    /// </summary>
    public long MaxAttachmentBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Upload limit per file (Discord's default for bots without boosts).</summary>
    public long MaxUploadFileBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Upload limit per request.</summary>
    public long MaxUploadRequestBytes { get; set; } = 25 * 1024 * 1024;

    /// <summary>Register commands to this guild (instant) instead of globally (can take up to an hour).</summary>
    public string? CommandGuildId { get; set; }

    /// <summary>Components V2 (text + media gallery) or the classic embed layout.</summary>
    public DiscordReplyLayout ReplyLayout { get; set; } = DiscordReplyLayout.ComponentsV2;

    /// <summary>
    /// An interaction whose handler has not answered after this long is deferred automatically, so the 3 s
    /// deadline is met however slow the analysis is.
    /// </summary>
    public TimeSpan AutoDeferAfter { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// One REST attempt is abandoned after this long (measured on the client's <see cref="TimeProvider"/>). An
    /// abandoned idempotent request is retried; an abandoned message POST only when it carries an enforced nonce.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of one REST request after a failure that is safe to retry (429, not connected, or idempotent).</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay of the REST pipeline; doubles per failure (see <see cref="Backoff"/>).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Gateway timing knobs.</summary>
    public GatewayOptions Gateway { get; set; } = new();
}

/// <summary>How replies with images are laid out.</summary>
public enum DiscordReplyLayout
{
    /// <summary>Text Display + Media Gallery (flag 32768).</summary>
    ComponentsV2,

    /// <summary>Classic embeds; images of one group share a URL so clients show them as a grid.</summary>
    Embeds,
}

/// <summary>Gateway reconnect and timing settings.</summary>
public sealed class GatewayOptions
{
    /// <summary>Give up on a connection that sends no Hello within this time.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>First reconnect delay after a failed attempt; doubles per consecutive failure.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the reconnect delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Discord asks for a random 1–5 s wait after Invalid Session before identifying again.</summary>
    public TimeSpan InvalidSessionMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>See <see cref="InvalidSessionMinDelay"/>.</summary>
    public TimeSpan InvalidSessionMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Window of the identify concurrency limit (<c>max_concurrency</c> identifies per window).</summary>
    public TimeSpan IdentifyWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait for the close handshake before dropping the socket.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Largest accepted gateway frame.</summary>
    public int MaxFrameBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Sent in Identify <c>properties.browser</c>/<c>device</c>.</summary>
    public string LibraryName { get; set; } = "otchatsa";
}
