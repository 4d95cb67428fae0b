namespace Otchatsa.Discord.Attachments;

/// <summary>Image formats accepted from chat.</summary>
public enum SniffedImageFormat
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    Webp,
}

/// <summary>Decides the format by magic bytes; the declared content type and file name are only hints.</summary>
public static class ImageSniffer
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The format <paramref name="data"/> starts with.</summary>
    public static SniffedImageFormat Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return SniffedImageFormat.Jpeg;
        }

        if (data.Length >= 8 && data[..8].SequenceEqual(PngSignature))
        {
            return SniffedImageFormat.Png;
        }

        if (data.Length >= 6 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            return SniffedImageFormat.Gif;
        }

        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return SniffedImageFormat.Webp;
        }

        return SniffedImageFormat.Unknown;
    }

    /// <summary>The MIME type of a sniffed format.</summary>
    public static string ContentType(SniffedImageFormat format) => format switch
    {
        SniffedImageFormat.Jpeg => "image/jpeg",
        SniffedImageFormat.Png => "image/png",
        SniffedImageFormat.Gif => "image/gif",
        SniffedImageFormat.Webp => "image/webp",
        _ => "application/octet-stream",
    };
}
