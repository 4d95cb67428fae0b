using System.IO.Compression;
using System.Text;
using Otchatsa.Imaging;
using SkiaSharp;
using static Otchatsa.Tests.Imaging.SyntheticImages;

namespace Otchatsa.Tests.Imaging;

/// <summary>A colour expected at one pixel of the decoded (upright, possibly downscaled) bitmap.</summary>
/// <param name="X">Column in <see cref="DecodedImage.Bitmap"/>.</param>
/// <param name="Y">Row in <see cref="DecodedImage.Bitmap"/>.</param>
/// <param name="Expected">Expected colour (alpha is always 255 after decoding).</param>
/// <param name="Tolerance">Largest allowed per-channel difference; JPEG and WebP are lossy.</param>
public sealed record PixelProbe(int X, int Y, SKColor Expected, int Tolerance = 12);

/// <summary>
/// One generated file and what decoding it must give: either <see cref="ExpectedError"/>, or success with the
/// EXIF-oriented original size <see cref="Width"/> × <see cref="Height"/> (the space CLI boxes are reported in).
/// </summary>
public sealed record CorpusEntry(string FileName, string Description, ImageErrorCode? ExpectedError)
{
    /// <summary>Where <see cref="BadImageCorpus.WriteTo"/> put the file; null before it is written.</summary>
    public string? Path { get; init; }

    public int Width { get; init; }

    public int Height { get; init; }

    /// <summary>Size of the returned bitmap when it is downscaled; null means the same as the original.</summary>
    public (int Width, int Height)? BitmapSize { get; init; }

    /// <summary>Expected <see cref="DecodedImage.Format"/> for decodable entries.</summary>
    public string? Format { get; init; }

    public IReadOnlyList<PixelProbe> Probes { get; init; } = [];

    /// <summary>True when the file must decode.</summary>
    public bool ShouldDecode => ExpectedError is null;

    /// <summary>The wire code (<c>corrupt</c>, …) the CLI must print, or null when decoding must succeed.</summary>
    public string? ExpectedWireCode => ExpectedError?.ToWire();

    internal Func<byte[]> Generate { get; init; } = () => [];

    public override string ToString() => FileName;
}

/// <summary>
/// Generates, from code, a corpus of broken, hostile and unusual image files with the outcome each must get from
/// <see cref="ImageDecoder"/>. Public so CLI-level tests can run <c>recommend --json</c> over the same files.
/// Nothing here is copied from elsewhere; every byte comes from SkiaSharp's encoders or the hand-written ones in
/// <see cref="SyntheticImages"/>.
/// </summary>
public static class BadImageCorpus
{
    /// <summary>The entries, without files (cheap: nothing is generated until <see cref="WriteTo"/>).</summary>
    public static IReadOnlyList<CorpusEntry> Entries { get; } = BuildEntries();

    /// <summary>Writes every entry into <paramref name="directory"/> (created if needed) and returns them with paths.</summary>
    public static IReadOnlyList<CorpusEntry> WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<CorpusEntry>(Entries.Count);
        foreach (CorpusEntry entry in Entries)
        {
            string path = System.IO.Path.Combine(directory, entry.FileName);
            File.WriteAllBytes(path, entry.Generate());
            written.Add(entry with { Path = path });
        }

        return written;
    }

    private static CorpusEntry Refused(string name, ImageErrorCode code, string description, Func<byte[]> generate) =>
        new(name, description, code) { Generate = generate };

    private static CorpusEntry Decodes(string name, string format, int width, int height, string description, Func<byte[]> generate, params PixelProbe[] probes) =>
        new(name, description, null) { Format = format, Width = width, Height = height, Probes = probes, Generate = generate };

    private static List<CorpusEntry> BuildEntries() =>
    [
        // ---- not images at all --------------------------------------------------------------------------------
        Refused("empty.jpg", ImageErrorCode.Empty, "zero bytes", () => []),
        Refused("one-byte.jpg", ImageErrorCode.NotAnImage, "a single 0xFF byte", () => [0xFF]),
        Refused("text-renamed.jpg", ImageErrorCode.NotAnImage, "plain text with a .jpg name",
            () => Encoding.UTF8.GetBytes("Hello! This is not a photo, just text saved as .jpg\n")),
        Refused("page.html", ImageErrorCode.NotAnImage, "an HTML page (e.g. an error page saved instead of the image)",
            () => Encoding.UTF8.GetBytes("<!DOCTYPE html>\n<html><head><title>404</title></head><body><img src=\"a.jpg\"></body></html>\n")),
        Refused("random.bin", ImageErrorCode.NotAnImage, "4 KB of seeded random bytes", () =>
        {
            var bytes = new byte[4096];
            new Random(20240607).NextBytes(bytes);
            bytes[0] = 0x42; // pin the first byte so no seed can land on a magic number
            return bytes;
        }),
        Refused("zeros.bin", ImageErrorCode.NotAnImage, "1 KB of zero bytes", () => new byte[1024]),
        Refused("wbmp-lookalike.bin", ImageErrorCode.NotAnImage, "binary data starting 00 00 41 42, which Skia alone would decode as a 65×66 WBMP",
            () => [0, 0, 0x41, 0x42, .. Enumerable.Repeat((byte)0x55, 600)]),
        Refused("archive.zip", ImageErrorCode.NotAnImage, "a ZIP archive", Zip),
        Refused("clip.mp4", ImageErrorCode.NotAnImage, "an MP4 (ftyp isom): a video, not a photo", () =>
            [.. FtypBox("isom", "isom", "iso2", "avc1", "mp41"), 0, 0, 0, 8, .. "mdat"u8]),

        // ---- image formats we recognise but cannot decode ----------------------------------------------------
        Refused("document.pdf", ImageErrorCode.UnsupportedFormat, "a PDF header",
            () => Encoding.ASCII.GetBytes("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")),
        Refused("drawing.svg", ImageErrorCode.UnsupportedFormat, "an SVG drawing with an XML declaration",
            () => Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"red\"/></svg>\n")),
        Refused("photo.heic", ImageErrorCode.UnsupportedFormat, "an iPhone-style HEIC ftyp box (mif1 major, heic compatible)",
            () => [.. FtypBox("mif1", "mif1", "heic"), 0, 0, 0, 8, .. "meta"u8]),
        Refused("photo.avif", ImageErrorCode.UnsupportedFormat, "an AVIF ftyp box (no AVIF codec in libSkiaSharp 4.155)",
            () => [.. FtypBox("avif", "avif", "mif1", "miaf"), 0, 0, 0, 8, .. "meta"u8]),
        Refused("scan.tiff", ImageErrorCode.UnsupportedFormat, "a little-endian TIFF header with an IFD", Tiff),
        Refused("layers.psd", ImageErrorCode.UnsupportedFormat, "a Photoshop header",
            () => [.. "8BPS"u8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 16, 0, 0, 0, 16, 0, 8, 0, 3]),
        Refused("photo.jxl", ImageErrorCode.UnsupportedFormat, "a JPEG XL codestream signature", () => [0xFF, 0x0A, 0xFA, 0x7F, 0x01, 0x90, 0x08]),

        // ---- broken files of decodable formats ----------------------------------------------------------------
        Refused("truncated-half.jpg", ImageErrorCode.Corrupt, "a valid 256×256 JPEG cut at 50% (Skia reports IncompleteInput)", () =>
        {
            byte[] jpeg = NoiseJpeg(256, 256, seed: 7);
            return jpeg[..(jpeg.Length / 2)];
        }),
        Refused("header-only.jpg", ImageErrorCode.Corrupt, "a JPEG cut right after the SOS header: dimensions but no scan data", () =>
        {
            byte[] jpeg = NoiseJpeg(64, 64, seed: 8);
            (int start, int size) = FindSegment(jpeg, 0xDA);
            return jpeg[..(start + size)];
        }),
        Refused("bad-crc.png", ImageErrorCode.Corrupt, "a PNG whose IHDR CRC is wrong",
            () => PngFromChunks(Ihdr(4, 4, 8, 0), [], Zlib(new byte[4 * 5]), breakIhdrCrc: true)),
        Refused("garbage-idat.png", ImageErrorCode.Corrupt, "a PNG whose IDAT is random bytes (valid CRC)", () =>
        {
            var garbage = new byte[200];
            new Random(3).NextBytes(garbage);
            return PngFromChunks(Ihdr(16, 16, 8, 2), [], garbage);
        }),
        Refused("no-frames.gif", ImageErrorCode.Corrupt, "a GIF with a header and palette but no image",
            () => [.. "GIF89a"u8, 8, 0, 8, 0, 0x91, 0, 0, .. new byte[12], 0x3B]),
        Refused("truncated.webp", ImageErrorCode.Corrupt, "a WebP cut at 60%", () =>
        {
            byte[] webp = Encode(SKEncodedImageFormat.Webp, 64, 64, c => c.DrawCircle(32, 32, 20, new SKPaint { Color = Red }));
            return webp[..(webp.Length * 6 / 10)];
        }),

        // ---- too large: bombs and oversized files -------------------------------------------------------------
        Refused("claims-60000x60000.png", ImageErrorCode.TooLarge, "a 100-byte PNG whose (CRC-valid) IHDR claims 60000×60000",
            () => PngFromChunks(Ihdr(60000, 60000, 8, 0), [], Zlib(new byte[60001]))),
        Refused("wide-10001x10.png", ImageErrorCode.TooLarge, "a complete, valid 10001×10 PNG: one side over MaxSide",
            () => Png(10001, 10, 8, 0, _ => new byte[10001])),
        Refused("claims-9000x9000.png", ImageErrorCode.TooLarge, "a PNG claiming 9000×9000: both sides allowed, 81 MP over MaxPixels",
            () => PngFromChunks(Ihdr(9000, 9000, 8, 2), [], Zlib(new byte[27001]))),
        Refused("claims-65535x65535.gif", ImageErrorCode.TooLarge, "a GIF whose logical screen claims 65535×65535",
            () => Gif(65535, 65535, [Red], [[0]], frameSize: (1, 1))),
        Refused("claims-65000x65000.jpg", ImageErrorCode.TooLarge, "a valid small JPEG whose SOF0 is patched to 65000×65000", () =>
        {
            byte[] jpeg = Jpeg(16, 16, c => c.Clear(Red));
            (int sof, _) = FindSegment(jpeg, 0xC0);
            jpeg[sof + 5] = jpeg[sof + 7] = 65000 >> 8;
            jpeg[sof + 6] = jpeg[sof + 8] = 65000 & 0xFF;
            return jpeg;
        }),
        Refused("claims-30000x30000.bmp", ImageErrorCode.TooLarge, "a BMP header claiming 30000×30000 over 4×4 pixels of data",
            () => Bmp(4, 4, (_, _) => Red, claimedWidth: 30000, claimedHeight: 30000)),
        Refused("over-20mb.jpg", ImageErrorCode.TooLarge, "a valid JPEG followed by 21 MB of trailing bytes (over MaxBytes)", () =>
        {
            byte[] jpeg = Jpeg(16, 16, c => c.Clear(Red));
            var big = new byte[21 * 1024 * 1024];
            jpeg.CopyTo(big, 0);
            return big;
        }),

        // ---- odd but fine ------------------------------------------------------------------------------------
        Decodes("one-pixel.png", "png", 1, 1, "a 1×1 PNG",
            () => Png(1, 1, 8, 2, _ => [10, 200, 30]), new PixelProbe(0, 0, new SKColor(10, 200, 30), 0)),
        Decodes("rgb-16bit.png", "png", 8, 4, "16 bits per channel RGB",
            () => Png(8, 4, 16, 2, _ => Repeat([0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00], 8)),
            new PixelProbe(3, 2, new SKColor(255, 128, 0), 1)),
        Decodes("gray.png", "png", 8, 4, "8-bit grayscale",
            () => Png(8, 4, 8, 0, _ => Repeat([64], 8)), new PixelProbe(5, 1, new SKColor(64, 64, 64), 1)),
        Decodes("palette-1bit.png", "png", 16, 4, "1-bit palette: left half green, right half yellow",
            () => Png(16, 4, 1, 3, _ => [0x00, 0xFF], ("PLTE", [0, 128, 0, 255, 255, 0])),
            new PixelProbe(2, 1, new SKColor(0, 128, 0), 1), new PixelProbe(12, 2, new SKColor(255, 255, 0), 1)),
        Decodes("alpha.png", "png", 12, 2, "RGBA: transparent, 50% red and opaque blue thirds; composited on white",
            () => Png(12, 2, 8, 6, _ => [.. Repeat([0, 0, 0, 0], 4), .. Repeat([255, 0, 0, 128], 4), .. Repeat([0, 0, 255, 255], 4)]),
            new PixelProbe(1, 0, SKColors.White, 1), new PixelProbe(5, 1, new SKColor(255, 127, 127), 3), new PixelProbe(10, 0, Blue, 1)),
        Decodes("wide-4000x200.png", "png", 4000, 200, "a large-but-allowed PNG, downscaled after a full decode (PNG cannot scale in the codec)",
            () => Png(4000, 200, 8, 2, _ => [.. Repeat([255, 0, 0], 2000), .. Repeat([0, 0, 255], 2000)]),
            new PixelProbe(400, 40, Red, 2), new PixelProbe(1200, 40, Blue, 2)) with { BitmapSize = (1600, 80) },
        Decodes("large-bmp-3200x100.bmp", "bmp", 3200, 100, "a bottom-up BMP over MaxDecodeSide: row-streamed downscale in reverse row order",
            () => Bmp(3200, 100, (x, y) => y < 50 ? Red : x < 1600 ? Green : Blue),
            new PixelProbe(800, 10, Red, 2), new PixelProbe(400, 40, Green, 2), new PixelProbe(1200, 40, Blue, 2)) with { BitmapSize = (1600, 50) },
        Decodes("large-alpha-2000x2000.png", "png", 2000, 2000, "RGBA PNG over MaxDecodeSide: left half transparent, right half 50% blue",
            () => Png(2000, 2000, 8, 6, _ => [.. new byte[4000], .. Repeat([0, 0, 255, 128], 1000)]),
            new PixelProbe(300, 800, SKColors.White, 1), new PixelProbe(1300, 800, new SKColor(127, 127, 255), 3)) with { BitmapSize = (1600, 1600) },
        Decodes("gray.jpg", "jpeg", 24, 16, "a one-component (grayscale) JPEG",
            () => Jpeg(24, 16, c => c.Clear(new SKColor(100, 100, 100)), colorType: SKColorType.Gray8),
            new PixelProbe(12, 8, new SKColor(100, 100, 100), 3)),
        Decodes("cmyk-adobe.jpg", "jpeg", 16, 16, "a hand-coded 4-component Adobe CMYK JPEG: top red, bottom blue ink",
            () => CmykJpeg(2, 2, (_, by) => by == 0 ? ((byte)0, (byte)255, (byte)255, (byte)0) : ((byte)255, (byte)255, (byte)0, (byte)0)),
            new PixelProbe(8, 3, Red, 3), new PixelProbe(8, 12, Blue, 3)),
        Decodes("exif-orientation-6.jpg", "jpeg", 32, 64, "64×32 stored, EXIF Orientation=6 (rotate 90° CW): red mark goes top-right",
            () => WithExifOrientation(MarkedJpeg(64, 32, 16), 6),
            new PixelProbe(24, 8, Red, 40), new PixelProbe(24, 56, Green, 40), new PixelProbe(8, 32, Blue, 40)),
        Decodes("large-6000x4000-orientation-8.jpg", "jpeg", 4000, 6000,
            "a 24 MP JPEG with Orientation=8: codec-scaled to 3/8, resampled to 1600 long side, red mark bottom-left",
            () => WithExifOrientation(MarkedJpeg(6000, 4000, 1000, quality: 80), 8),
            new PixelProbe(133, 1467, Red, 40), new PixelProbe(133, 133, Green, 40), new PixelProbe(800, 800, Blue, 40)) with { BitmapSize = (1067, 1600) },
        Decodes("trailing-garbage.jpg", "jpeg", 16, 16, "a valid JPEG followed by 4 KB of junk after EOI (common from some phones)",
            () => [.. Jpeg(16, 16, c => c.Clear(Red)), .. new byte[4096]], new PixelProbe(8, 8, Red, 8)),
        Decodes("animated.gif", "gif", 8, 6, "a 2-frame looping GIF: frame 1 half transparent/half red, frame 2 blue; first frame only",
            () => Gif(8, 6, [SKColors.Black, Red, Blue], [HalfAndHalf(8, 6, 0, 1), HalfAndHalf(8, 6, 2, 2)], transparentIndex: 0),
            new PixelProbe(1, 3, SKColors.White, 0), new PixelProbe(6, 3, Red, 0)),
        Decodes("image.webp", "webp", 40, 20, "a lossy WebP encoded by SkiaSharp",
            () => Encode(SKEncodedImageFormat.Webp, 40, 20, c => c.Clear(Blue)), new PixelProbe(20, 10, Blue, 24)),
        Decodes("animated.webp", "webp", 16, 16, "a 2-frame animated WebP (red, then blue): first frame only",
            () => AnimatedWebp(16, 16, [Red, Blue]), new PixelProbe(8, 8, Red, 24)),
        Decodes("image.bmp", "bmp", 30, 20, "a 24-bit bottom-up BMP: top half red, bottom half blue",
            () => Bmp(30, 20, (_, y) => y < 10 ? Red : Blue), new PixelProbe(15, 2, Red, 0), new PixelProbe(15, 17, Blue, 0)),
        Decodes("icon.ico", "ico", 16, 16, "an ICO holding one 16×16 PNG",
            () => IcoWithPng(16, Png(16, 16, 8, 2, _ => Repeat([0, 255, 0], 16))), new PixelProbe(8, 8, Green, 0)),
    ];

    /// <summary>A JPEG with a red square at the stored top-left, a green one at the top-right, on blue.</summary>
    public static byte[] MarkedJpeg(int width, int height, int mark, int quality = 92) => Jpeg(width, height, c =>
    {
        c.Clear(Blue);
        using var red = new SKPaint { Color = Red };
        using var green = new SKPaint { Color = Green };
        c.DrawRect(0, 0, mark, mark, red);
        c.DrawRect(width - mark, 0, mark, mark, green);
    }, quality);

    private static byte[] HalfAndHalf(int width, int height, byte left, byte right)
    {
        var indices = new byte[width * height];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = i % width < width / 2 ? left : right;
        }

        return indices;
    }

    private static byte[] Repeat(byte[] pattern, int times) => [.. Enumerable.Repeat(pattern, times).SelectMany(p => p)];

    private static byte[] FtypBox(string major, params string[] compatible)
    {
        int size = 16 + 4 * compatible.Length;
        return [0, 0, 0, (byte)size, .. "ftyp"u8, .. Encoding.ASCII.GetBytes(major), 0, 0, 0, 0, .. compatible.SelectMany(Encoding.ASCII.GetBytes)];
    }

    private static byte[] Tiff()
    {
        // Header, then an IFD with ImageWidth=16 and ImageLength=16 (SHORT values).
        return [.. "II*\0"u8, 8, 0, 0, 0, 2, 0, 0x00, 0x01, 3, 0, 1, 0, 0, 0, 16, 0, 0, 0, 0x01, 0x01, 3, 0, 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0];
    }

    private static byte[] Zip()
    {
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(archive.CreateEntry("photo.txt").Open());
            writer.Write("not really a photo");
        }

        return zip.ToArray();
    }
}
