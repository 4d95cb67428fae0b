namespace Otchatsa.Discord.Rest;

/// <summary>A file uploaded as <c>files[n]</c>; <see cref="FileName"/> is what <c>attachment://</c> refers to.</summary>
/// <param name="FileName">File name, ASCII letters, digits, dot, dash and underscore.</param>
/// <param name="Content">The bytes.</param>
/// <param name="ContentType">MIME type, e.g. <c>image/jpeg</c>.</param>
public sealed record RestFile(string FileName, ReadOnlyMemory<byte> Content, string ContentType);

/// <summary>Thrown before sending when an upload breaks Discord's size limits.</summary>
public sealed class DiscordUploadTooLargeException(string message) : Exception(message);

/// <summary>A non-success answer from Discord's REST API.</summary>
public sealed class DiscordRestException : Exception
{
    /// <summary>Creates the exception; <paramref name="route"/> is the route template, never the concrete path.</summary>
    public DiscordRestException(int statusCode, int? errorCode, string route, string? discordMessage)
        : base($"Discord REST {route} failed with HTTP {statusCode}" +
               (errorCode is null ? "" : $" (code {errorCode})") +
               (string.IsNullOrEmpty(discordMessage) ? "" : $": {discordMessage}"))
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        Route = route;
    }

    /// <summary>HTTP status.</summary>
    public int StatusCode { get; }

    /// <summary>Discord's JSON error code, when the body had one.</summary>
    public int? ErrorCode { get; }

    /// <summary>Route template (no ids or tokens).</summary>
    public string Route { get; }
}
