namespace Otchatsa.Discord.Models;

/// <summary>An uploaded file on a message. <see cref="Url"/> is a signed CDN URL that expires.</summary>
public sealed record DiscordAttachment
{
    public string Id { get; init; } = "";
    public string Filename { get; init; } = "";
    public string? ContentType { get; init; }
    public long Size { get; init; }
    public string Url { get; init; } = "";
    public string? ProxyUrl { get; init; }
    public int? Height { get; init; }
    public int? Width { get; init; }

    /// <summary>Whether Discord labelled the file as an image (a hint only: the bytes are sniffed on download).</summary>
    public bool LooksLikeImage =>
        ContentType?.StartsWith("image/", StringComparison.OrdinalIgnoreCase) == true
        || Height is > 0
        || Path.GetExtension(Filename).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png" or ".webp" or ".gif";
}
