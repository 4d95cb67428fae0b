using System.Buffers.Binary;
using System.IO.Compression;

namespace Otchatsa.Demo;

/// <summary>A stack of same-sized 8-bit grayscale images read from an IDX3 file (row-major, one byte per pixel).</summary>
public sealed class IdxImages
{
    private readonly byte[] _pixels;

    internal IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        Count = count;
        Rows = rows;
        Columns = columns;
        _pixels = pixels;
    }

    public int Count { get; }
    public int Rows { get; }
    public int Columns { get; }

    /// <summary>The pixels of image <paramref name="index"/>, <see cref="Rows"/> × <see cref="Columns"/> bytes.</summary>
    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            int size = Rows * Columns;
            return _pixels.AsSpan(index * size, size);
        }
    }
}

/// <summary>
/// Reader for the IDX format used by MNIST and Fashion-MNIST: a big-endian header (magic 2051 for images, 2049 for
/// labels, then the dimension sizes) followed by unsigned bytes. Files may be gzip-compressed (detected by content,
/// not by name). Every inconsistency is an <see cref="InvalidDataException"/> naming what was expected.
/// </summary>
public static class IdxFile
{
    public const int ImagesMagic = 2051;
    public const int LabelsMagic = 2049;

    // Far above Fashion-MNIST (60,000 × 28 × 28 = 47 MB) but low enough that a corrupt header cannot make us
    // allocate gigabytes.
    private const long MaxPayloadBytes = 512L * 1024 * 1024;

    /// <summary>Reads an IDX3 image file (gzip or raw).</summary>
    public static IdxImages ReadImages(string path) => ReadImages(File.ReadAllBytes(path), path);

    /// <summary>Reads an IDX1 label file (gzip or raw).</summary>
    public static byte[] ReadLabels(string path) => ReadLabels(File.ReadAllBytes(path), path);

    /// <summary>Parses IDX3 image data; <paramref name="fileBytes"/> may be gzip-compressed.</summary>
    public static IdxImages ReadImages(byte[] fileBytes, string name = "IDX data")
    {
        byte[] raw = Decompress(fileBytes, name);
        return ParseImages(raw, name);
    }

    /// <summary>Parses IDX1 label data; <paramref name="fileBytes"/> may be gzip-compressed.</summary>
    public static byte[] ReadLabels(byte[] fileBytes, string name = "IDX data")
    {
        byte[] raw = Decompress(fileBytes, name);
        return ParseLabels(raw, name);
    }

    internal static IdxImages ParseImages(byte[] raw, string name)
    {
        // Magic first: "this is a label file" is a more useful message than "header too short".
        RequireHeader(raw, 4, name);
        int magic = BinaryPrimitives.ReadInt32BigEndian(raw);
        if (magic != ImagesMagic)
        {
            throw new InvalidDataException(
                $"{name}: not an IDX image file (magic {magic}, expected {ImagesMagic}{MagicHint(magic)}).");
        }

        RequireHeader(raw, 16, name);
        int count = ReadDimension(raw, 4, "image count", name);
        int rows = ReadDimension(raw, 8, "rows", name);
        int columns = ReadDimension(raw, 12, "columns", name);
        long expected = (long)count * rows * columns;
        RequirePayload(raw.LongLength - 16, expected, name);
        return new IdxImages(count, rows, columns, raw[16..(int)(16 + expected)]);
    }

    internal static byte[] ParseLabels(byte[] raw, string name)
    {
        RequireHeader(raw, 4, name);
        int magic = BinaryPrimitives.ReadInt32BigEndian(raw);
        if (magic != LabelsMagic)
        {
            throw new InvalidDataException(
                $"{name}: not an IDX label file (magic {magic}, expected {LabelsMagic}{MagicHint(magic)}).");
        }

        RequireHeader(raw, 8, name);
        int count = ReadDimension(raw, 4, "label count", name);
        RequirePayload(raw.LongLength - 8, count, name);
        return raw[8..(8 + count)];
    }

    /// <summary>Returns the decompressed bytes when <paramref name="fileBytes"/> starts with the gzip magic, else the input.</summary>
    internal static byte[] Decompress(byte[] fileBytes, string name)
    {
        if (fileBytes.Length < 2 || fileBytes[0] != 0x1f || fileBytes[1] != 0x8b)
        {
            return fileBytes;
        }

        try
        {
            using var gzip = new GZipStream(new MemoryStream(fileBytes, writable: false), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > MaxPayloadBytes)
                {
                    throw new InvalidDataException($"{name}: decompresses to more than {MaxPayloadBytes} bytes.");
                }

                output.Write(buffer, 0, read);
            }

            return output.ToArray();
        }
        catch (InvalidDataException ex) when (!ex.Message.StartsWith(name, StringComparison.Ordinal))
        {
            // GZipStream's own messages do not say which file; a demo user needs to know what to delete.
            throw new InvalidDataException($"{name}: corrupt or truncated gzip stream ({ex.Message}).", ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"{name}: truncated gzip stream.", ex);
        }
    }

    private static string MagicHint(int magic) => magic switch
    {
        ImagesMagic => " — this is an image file",
        LabelsMagic => " — this is a label file",
        _ => "",
    };

    private static void RequireHeader(byte[] raw, int headerBytes, string name)
    {
        if (raw.Length < headerBytes)
        {
            throw new InvalidDataException(
                $"{name}: truncated IDX header ({raw.Length} bytes, need at least {headerBytes}).");
        }
    }

    private static int ReadDimension(byte[] raw, int offset, string what, string name)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(offset));
        if (value <= 0)
        {
            throw new InvalidDataException($"{name}: invalid {what} {value} in IDX header.");
        }

        return value;
    }

    private static void RequirePayload(long available, long expected, string name)
    {
        if (expected > MaxPayloadBytes)
        {
            throw new InvalidDataException($"{name}: IDX header announces {expected} bytes of data, which is implausible.");
        }

        if (available < expected)
        {
            throw new InvalidDataException(
                $"{name}: truncated IDX file ({available} data bytes, header announces {expected}).");
        }

        if (available > expected)
        {
            throw new InvalidDataException(
                $"{name}: {available - expected} unexpected trailing bytes after the IDX data (corrupt file?).");
        }
    }
}
