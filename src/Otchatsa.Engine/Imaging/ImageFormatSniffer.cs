using System.Text;

namespace Otchatsa.Imaging;

/// <summary>What the first bytes of a file say it is.</summary>
public enum SniffedFormat
{
    Unknown,

    // Decoded by the bundled Skia.
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Ico,

    // Recognised image formats the bundled Skia cannot decode (checked against libSkiaSharp 4.155: no HEIF/AVIF,
    // JPEG XL, TIFF or RAW codec is compiled in). Users get a "send it as JPEG" answer instead of "not an image".
    Heif,
    Avif,
    Tiff,
    Psd,
    Svg,
    Pdf,
    JpegXl,

    // Recognised non-images, so the refusal can say what was sent.
    Video,
    Html,
    Zip,
}

/// <summary>
/// Classifies data by magic bytes before any codec sees it. Skia's own detection is too permissive for untrusted
/// input: its WBMP header is two zero bytes plus two size bytes, so checked here, any binary blob starting
/// <c>00 00 41 42</c> "decodes" as a 65×66 picture. WBMP is therefore not accepted at all. Knowing the format also
/// lets the refusal message be specific. This is the one copy of the format rule: the chat front ends take their
/// "is this a photo?" answer from <see cref="ChatPhotoMediaType"/>.
/// </summary>
public static class ImageFormatSniffer
{
    private static readonly string[] HeifBrands = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "mif2"];
    private static readonly string[] AvifBrands = ["avif", "avis"];

    /// <summary>
    /// The media type of a photo a chat front end accepts before it is decoded (JPEG, PNG, GIF or WebP), or
    /// <see langword="null"/> when the bytes are none of those.
    /// </summary>
    public static string? ChatPhotoMediaType(ReadOnlySpan<byte> data) => Sniff(data) switch
    {
        SniffedFormat.Jpeg => "image/jpeg",
        SniffedFormat.Png => "image/png",
        SniffedFormat.Gif => "image/gif",
        SniffedFormat.Webp => "image/webp",
        _ => null,
    };

    /// <summary>What <paramref name="d"/> starts with.</summary>
    public static SniffedFormat Sniff(ReadOnlySpan<byte> d)
    {
        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return SniffedFormat.Jpeg;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return SniffedFormat.Png;
        }

        if (d.StartsWith("GIF87a"u8) || d.StartsWith("GIF89a"u8))
        {
            return SniffedFormat.Gif;
        }

        if (d.Length >= 12 && d.StartsWith("RIFF"u8) && d[8..12].SequenceEqual("WEBP"u8))
        {
            return SniffedFormat.Webp;
        }

        if (IsBmp(d))
        {
            return SniffedFormat.Bmp;
        }

        if (IsIco(d))
        {
            return SniffedFormat.Ico;
        }

        if (d.Length >= 12 && d[4..8].SequenceEqual("ftyp"u8))
        {
            return SniffIsoBmff(d);
        }

        if (d.StartsWith("II*\0"u8) || d.StartsWith("MM\0*"u8) || d.StartsWith("II+\0"u8) || d.StartsWith("MM\0+"u8))
        {
            return SniffedFormat.Tiff;
        }

        if (d.StartsWith("8BPS"u8))
        {
            return SniffedFormat.Psd;
        }

        if (d.StartsWith("%PDF-"u8))
        {
            return SniffedFormat.Pdf;
        }

        if (d.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A])
            || d.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', (byte)' ']))
        {
            return SniffedFormat.JpegXl;
        }

        if (d.StartsWith("PK\x03\x04"u8) || d.StartsWith("PK\x05\x06"u8))
        {
            return SniffedFormat.Zip;
        }

        return SniffMarkup(d);
    }

    private static bool IsBmp(ReadOnlySpan<byte> d)
    {
        // "BM" alone matches ordinary text ("BMW ..."); the DIB header size must also be one of the known ones.
        if (d.Length < 18 || d[0] != 'B' || d[1] != 'M')
        {
            return false;
        }

        uint dibSize = (uint)(d[14] | d[15] << 8 | d[16] << 16 | d[17] << 24);
        return dibSize is 12 or 16 or 40 or 52 or 56 or 64 or 108 or 124;
    }

    private static bool IsIco(ReadOnlySpan<byte> d)
    {
        // 00 00 01 00 is weak on its own; also require a sane image count and a zero reserved byte in entry 0.
        if (d.Length < 22 || !d.StartsWith((ReadOnlySpan<byte>)[0, 0, 1, 0]))
        {
            return false;
        }

        int count = d[4] | d[5] << 8;
        return count is > 0 and <= 256 && d[6 + 3] == 0;
    }

    private static SniffedFormat SniffIsoBmff(ReadOnlySpan<byte> d)
    {
        // The ftyp box lists a major brand and compatible brands; a HEIC photo may name "mif1" as major and "heic"
        // later, so every brand inside the box is looked at.
        uint boxSize = (uint)(d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]);
        int end = (int)Math.Min(Math.Min(boxSize < 16 ? 16 : boxSize, (uint)d.Length), 256u);
        bool heif = false;
        for (int i = 8; i + 4 <= end; i += 4)
        {
            if (i == 12)
            {
                continue; // minor version, not a brand
            }

            string brand = Encoding.ASCII.GetString(d.Slice(i, 4));
            if (AvifBrands.Contains(brand))
            {
                return SniffedFormat.Avif;
            }

            heif |= HeifBrands.Contains(brand);
        }

        return heif ? SniffedFormat.Heif : SniffedFormat.Video;
    }

    private static SniffedFormat SniffMarkup(ReadOnlySpan<byte> d)
    {
        ReadOnlySpan<byte> head = d[..Math.Min(d.Length, 1024)];
        if (head.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            head = head[3..];
        }

        int start = 0;
        while (start < head.Length && head[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        head = head[start..];
        if (head.IsEmpty || head[0] != '<')
        {
            return SniffedFormat.Unknown;
        }

        string text = Encoding.ASCII.GetString(head).ToLowerInvariant();
        if (text.Contains("<svg", StringComparison.Ordinal))
        {
            return SniffedFormat.Svg;
        }

        return text.Contains("<html", StringComparison.Ordinal) || text.StartsWith("<!doctype html", StringComparison.Ordinal)
            ? SniffedFormat.Html
            : SniffedFormat.Unknown;
    }
}
