using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SkiaSharp;

namespace Otchatsa.Tests.Imaging;

/// <summary>
/// Tiny hand-written encoders for the image variants SkiaSharp cannot write (16-bit/palette PNG, GIF, BMP, ICO,
/// CMYK JPEG, EXIF) so the test corpus is generated from code and no binary fixture is committed.
/// </summary>
public static class SyntheticImages
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    public static readonly SKColor Red = new(255, 0, 0);
    public static readonly SKColor Green = new(0, 255, 0);
    public static readonly SKColor Blue = new(0, 0, 255);

    // ---- PNG -------------------------------------------------------------------------------------------------

    /// <summary>A PNG from unfiltered scanlines (<paramref name="rows"/> excludes the per-row filter byte).</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, Func<int, byte[]> rows, params (string Type, byte[] Data)[] beforeIdat)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter "None": the encoder's job here is validity, not size
            raw.Write(rows(y));
        }

        return PngFromChunks(Ihdr(width, height, bitDepth, colorType), beforeIdat, Zlib(raw.ToArray()));
    }

    public static byte[] Ihdr(int width, int height, byte bitDepth, byte colorType)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        return ihdr;
    }

    public static byte[] PngFromChunks(byte[] ihdr, IEnumerable<(string Type, byte[] Data)> beforeIdat, byte[] idat, bool breakIhdrCrc = false)
    {
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        WriteChunk(png, "IHDR", ihdr, breakIhdrCrc);
        foreach ((string type, byte[] data) in beforeIdat)
        {
            WriteChunk(png, type, data);
        }

        WriteChunk(png, "IDAT", idat);
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    public static byte[] Zlib(byte[] data)
    {
        var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            z.Write(data);
        }

        return output.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data, bool breakCrc = false)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(u32, data.Length);
        png.Write(u32);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typeAndData) ^ (breakCrc ? 1u : 0u));
        png.Write(u32);
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return c ^ 0xFFFFFFFF;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }

    // ---- GIF -------------------------------------------------------------------------------------------------

    /// <summary>
    /// A GIF89a with a 4-colour global palette and one image per frame (each frame covers the whole screen unless
    /// <paramref name="frameSize"/> says otherwise). <paramref name="transparentIndex"/> marks a palette index
    /// transparent in every frame.
    /// </summary>
    public static byte[] Gif(int screenWidth, int screenHeight, SKColor[] palette, IReadOnlyList<byte[]> frames, int? transparentIndex = null, (int W, int H)? frameSize = null)
    {
        var gif = new MemoryStream();
        gif.Write("GIF89a"u8);
        WriteU16(gif, screenWidth);
        WriteU16(gif, screenHeight);
        gif.WriteByte(0x80 | 0x10 | 0x01); // global table present, 4 entries
        gif.WriteByte(0);
        gif.WriteByte(0);
        for (int i = 0; i < 4; i++)
        {
            SKColor c = i < palette.Length ? palette[i] : SKColors.Black;
            gif.Write([c.Red, c.Green, c.Blue]);
        }

        if (frames.Count > 1)
        {
            gif.Write([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8, 0x03, 0x01, 0x00, 0x00, 0x00]); // loop forever
        }

        (int fw, int fh) = frameSize ?? (screenWidth, screenHeight);
        foreach (byte[] indices in frames)
        {
            byte flags = (byte)(0x04 | (transparentIndex is null ? 0 : 1)); // dispose: keep, transparency flag
            gif.Write([0x21, 0xF9, 0x04, flags, 10, 0, (byte)(transparentIndex ?? 0), 0]);
            gif.WriteByte(0x2C);
            WriteU16(gif, 0);
            WriteU16(gif, 0);
            WriteU16(gif, fw);
            WriteU16(gif, fh);
            gif.WriteByte(0);
            gif.WriteByte(2); // LZW minimum code size
            byte[] lzw = LzwUncompressed(indices);
            for (int i = 0; i < lzw.Length; i += 255)
            {
                int n = Math.Min(255, lzw.Length - i);
                gif.WriteByte((byte)n);
                gif.Write(lzw, i, n);
            }

            gif.WriteByte(0);
        }

        gif.WriteByte(0x3B);
        return gif.ToArray();
    }

    /// <summary>
    /// "Uncompressed" LZW: a clear code after every two literals keeps the dictionary from ever reaching the point
    /// where the code width grows, so every code is 3 bits and no real dictionary is needed. Valid for any decoder.
    /// </summary>
    private static byte[] LzwUncompressed(byte[] indices)
    {
        const int Clear = 4;
        const int End = 5;
        var output = new List<byte>();
        int acc = 0;
        int nbits = 0;
        void Emit(int code)
        {
            acc |= code << nbits;
            nbits += 3;
            while (nbits >= 8)
            {
                output.Add((byte)acc);
                acc >>= 8;
                nbits -= 8;
            }
        }

        Emit(Clear);
        for (int i = 0; i < indices.Length; i++)
        {
            if (i > 0 && i % 2 == 0)
            {
                Emit(Clear);
            }

            Emit(indices[i]);
        }

        Emit(End);
        if (nbits > 0)
        {
            output.Add((byte)acc);
        }

        return [.. output];
    }

    private static void WriteU16(Stream s, int v)
    {
        s.WriteByte((byte)v);
        s.WriteByte((byte)(v >> 8));
    }

    // ---- WebP ------------------------------------------------------------------------------------------------

    /// <summary>
    /// An animated WebP (VP8X + ANIM + one ANMF per frame) built from SkiaSharp-encoded still frames, since
    /// SkiaSharp cannot encode animations. Every frame covers the whole canvas.
    /// </summary>
    public static byte[] AnimatedWebp(int width, int height, IReadOnlyList<SKColor> frameColors)
    {
        var body = new MemoryStream();
        body.Write("WEBP"u8);
        WriteRiffChunk(body, "VP8X", [0x02, 0, 0, 0, .. U24(width - 1), .. U24(height - 1)]);
        WriteRiffChunk(body, "ANIM", [255, 255, 255, 255, 0, 0]);
        foreach (SKColor color in frameColors)
        {
            byte[] still = Encode(SKEncodedImageFormat.Webp, width, height, c => c.Clear(color));
            WriteRiffChunk(body, "ANMF", [.. U24(0), .. U24(0), .. U24(width - 1), .. U24(height - 1), .. U24(100), 0x02, .. still.AsSpan(12)]);
        }

        var riff = new MemoryStream();
        riff.Write("RIFF"u8);
        riff.Write(BitConverter.GetBytes((uint)body.Length));
        body.WriteTo(riff);
        return riff.ToArray();
    }

    private static byte[] U24(int v) => [(byte)v, (byte)(v >> 8), (byte)(v >> 16)];

    private static void WriteRiffChunk(Stream s, string type, byte[] data)
    {
        s.Write(Encoding.ASCII.GetBytes(type));
        s.Write(BitConverter.GetBytes((uint)data.Length));
        s.Write(data);
        if (data.Length % 2 == 1)
        {
            s.WriteByte(0);
        }
    }

    // ---- BMP / ICO -------------------------------------------------------------------------------------------

    /// <summary>A 24-bit bottom-up BMP; <paramref name="claimedHeight"/> lets the header lie about the size.</summary>
    public static byte[] Bmp(int width, int height, Func<int, int, SKColor> pixel, int? claimedWidth = null, int? claimedHeight = null)
    {
        int stride = (width * 3 + 3) & ~3;
        var bmp = new byte[54 + stride * height];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), claimedWidth ?? width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), claimedHeight ?? height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), stride * height);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + (height - 1 - y) * stride;
            for (int x = 0; x < width; x++)
            {
                SKColor c = pixel(x, y);
                bmp[row + x * 3] = c.Blue;
                bmp[row + x * 3 + 1] = c.Green;
                bmp[row + x * 3 + 2] = c.Red;
            }
        }

        return bmp;
    }

    /// <summary>An ICO holding one PNG-compressed image (the Vista+ layout).</summary>
    public static byte[] IcoWithPng(int size, byte[] png)
    {
        var ico = new byte[22 + png.Length];
        ico[2] = 1;
        ico[4] = 1;
        ico[6] = (byte)size;
        ico[7] = (byte)size;
        ico[10] = 1;
        ico[12] = 32;
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(14), png.Length);
        BinaryPrimitives.WriteInt32LittleEndian(ico.AsSpan(18), 22);
        png.CopyTo(ico, 22);
        return ico;
    }

    // ---- JPEG ------------------------------------------------------------------------------------------------

    /// <summary>A JPEG encoded by SkiaSharp from whatever <paramref name="draw"/> paints on a white canvas.</summary>
    public static byte[] Jpeg(int width, int height, Action<SKCanvas> draw, int quality = 92, SKColorType colorType = SKColorType.Rgba8888)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            draw(canvas);
        }

        using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    /// <summary>A JPEG of random noise, so its entropy-coded data is most of the file (for truncation cases).</summary>
    public static byte[] NoiseJpeg(int width, int height, int seed)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var random = new Random(seed);
        byte[] pixels = new byte[width * height * 4];
        random.NextBytes(pixels);
        for (int i = 3; i < pixels.Length; i += 4)
        {
            pixels[i] = 255;
        }

        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    public static byte[] Encode(SKEncodedImageFormat format, int width, int height, Action<SKCanvas> draw, int quality = 90)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            draw(canvas);
        }

        using SKData data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>Inserts an APP1 Exif segment holding only an Orientation tag right after SOI.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] app1 =
        [
            0xFF, 0xE1, 0x00, 34,
            .. "Exif\0\0"u8,
            .. "MM\0*"u8, 0, 0, 0, 8,           // big-endian TIFF header, IFD0 at offset 8
            0, 1,                                // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1,        // Orientation, SHORT, count 1
            0, (byte)orientation, 0, 0,
            0, 0, 0, 0,                          // no next IFD
        ];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    /// <summary>Offset of the 0xFF of the first marker segment of the given type, and the segment's total size.</summary>
    public static (int Start, int Size) FindSegment(byte[] jpeg, byte marker)
    {
        int i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF)
        {
            int size = 2 + (jpeg[i + 2] << 8 | jpeg[i + 3]);
            if (jpeg[i + 1] == marker)
            {
                return (i, size);
            }

            i += size;
        }

        throw new InvalidOperationException($"marker FF{marker:X2} not found");
    }

    /// <summary>
    /// A baseline JPEG with four components and an Adobe APP14 marker (transform 0 = plain, inverted CMYK as
    /// Photoshop writes it), made of flat 8×8 blocks: only DC coefficients are coded, so the whole encoder is a DC
    /// Huffman table and an AC table holding nothing but end-of-block. SkiaSharp cannot write CMYK itself.
    /// </summary>
    public static byte[] CmykJpeg(int blocksX, int blocksY, Func<int, int, (byte C, byte M, byte Y, byte K)> inkPerBlock)
    {
        byte[] dcBits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        byte[] dcValues = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        (int Code, int Length)[] dcCodes = CanonicalCodes(dcBits, dcValues.Length);

        var jpg = new MemoryStream();
        jpg.Write([0xFF, 0xD8]);
        jpg.Write([0xFF, 0xEE, 0, 14, .. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);
        jpg.Write([0xFF, 0xDB, 0, 67, 0]);
        jpg.Write(Enumerable.Repeat((byte)1, 64).ToArray());
        jpg.Write([0xFF, 0xC0, 0, 20, 8, (byte)(blocksY * 8 >> 8), (byte)(blocksY * 8), (byte)(blocksX * 8 >> 8), (byte)(blocksX * 8), 4]);
        for (byte c = 1; c <= 4; c++)
        {
            jpg.Write([c, 0x11, 0]);
        }

        jpg.Write([0xFF, 0xC4, 0, (byte)(3 + 16 + dcValues.Length), 0x00, .. dcBits, .. dcValues]);
        jpg.Write([0xFF, 0xC4, 0, 3 + 16 + 1, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
        jpg.Write([0xFF, 0xDA, 0, 14, 4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0]);

        var bits = new JpegBitWriter(jpg);
        int[] previousDc = new int[4];
        for (int by = 0; by < blocksY; by++)
        {
            for (int bx = 0; bx < blocksX; bx++)
            {
                (byte c, byte m, byte y, byte k) = inkPerBlock(bx, by);
                byte[] stored = [(byte)(255 - c), (byte)(255 - m), (byte)(255 - y), (byte)(255 - k)];
                for (int comp = 0; comp < 4; comp++)
                {
                    int dc = 8 * (stored[comp] - 128); // DC of a flat block with an all-ones quantisation table
                    int diff = dc - previousDc[comp];
                    previousDc[comp] = dc;
                    int category = diff == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(diff));
                    bits.Write(dcCodes[category].Code, dcCodes[category].Length);
                    if (category > 0)
                    {
                        bits.Write(diff > 0 ? diff : diff + (1 << category) - 1, category);
                    }

                    bits.Write(0, 1); // AC: end of block
                }
            }
        }

        bits.Flush();
        jpg.Write([0xFF, 0xD9]);
        return jpg.ToArray();
    }

    private static (int Code, int Length)[] CanonicalCodes(byte[] bits, int count)
    {
        var codes = new (int, int)[count];
        int code = 0;
        int k = 0;
        for (int length = 1; length <= 16; length++)
        {
            for (int i = 0; i < bits[length - 1]; i++)
            {
                codes[k++] = (code++, length);
            }

            code <<= 1;
        }

        return codes;
    }

    private sealed class JpegBitWriter(Stream output)
    {
        private int _acc;
        private int _count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                _acc = _acc << 1 | (value >> i & 1);
                if (++_count == 8)
                {
                    Put();
                }
            }
        }

        public void Flush()
        {
            while (_count != 0)
            {
                Write(1, 1); // pad with ones, as the standard asks
            }
        }

        private void Put()
        {
            output.WriteByte((byte)_acc);
            if (_acc == 0xFF)
            {
                output.WriteByte(0); // byte stuffing
            }

            _acc = 0;
            _count = 0;
        }
    }
}
