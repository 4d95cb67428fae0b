using System.Buffers.Binary;
using System.IO.Compression;
using Otchatsa.Demo;

namespace Otchatsa.Tests.Demo;

public sealed class IdxFileTests
{
    internal static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(raw);
        }

        return output.ToArray();
    }

    internal static byte[] ImagesIdx(int count, int rows, int columns, Func<int, byte> pixel)
    {
        var raw = new byte[16 + count * rows * columns];
        BinaryPrimitives.WriteInt32BigEndian(raw, IdxFile.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(12), columns);
        for (int i = 16; i < raw.Length; i++)
        {
            raw[i] = pixel(i - 16);
        }

        return raw;
    }

    internal static byte[] LabelsIdx(params byte[] labels)
    {
        var raw = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(raw, IdxFile.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4), labels.Length);
        labels.CopyTo(raw, 8);
        return raw;
    }

    [Fact]
    public void Reads_gzipped_images_big_endian_header()
    {
        var images = IdxFile.ReadImages(Gzip(ImagesIdx(3, 2, 4, i => (byte)i)));

        Assert.Equal(3, images.Count);
        Assert.Equal(2, images.Rows);
        Assert.Equal(4, images.Columns);
        Assert.Equal(new byte[] { 8, 9, 10, 11, 12, 13, 14, 15 }, images[1].ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => images[3].Length);
    }

    [Fact]
    public void Reads_labels_gzipped_or_raw()
    {
        byte[] raw = LabelsIdx(9, 0, 3);
        Assert.Equal(new byte[] { 9, 0, 3 }, IdxFile.ReadLabels(Gzip(raw)));
        Assert.Equal(new byte[] { 9, 0, 3 }, IdxFile.ReadLabels(raw));
    }

    [Fact]
    public void Reads_from_file_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"otchatsa-idx-{Guid.NewGuid():N}.gz");
        try
        {
            File.WriteAllBytes(path, Gzip(ImagesIdx(1, 28, 28, _ => 7)));
            var images = IdxFile.ReadImages(path);
            Assert.Equal(784, images[0].Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Truncated_payload_is_a_clear_error()
    {
        byte[] raw = ImagesIdx(3, 2, 2, _ => 1);
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(Gzip(raw[..^3]), "x.gz"));
        Assert.Contains("truncated IDX file", ex.Message);
        Assert.StartsWith("x.gz", ex.Message);
    }

    [Fact]
    public void Truncated_gzip_stream_is_a_clear_error()
    {
        byte[] gz = Gzip(ImagesIdx(50, 28, 28, i => (byte)(i * 31)));
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(gz[..(gz.Length / 2)], "half.gz"));
        Assert.StartsWith("half.gz", ex.Message);
    }

    [Fact]
    public void Wrong_magic_names_the_file_kind()
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(LabelsIdx(1, 2), "labels.gz"));
        Assert.Contains("magic 2049", ex.Message);
        Assert.Contains("label file", ex.Message);
    }

    [Fact]
    public void Short_header_and_bad_dimensions_are_rejected()
    {
        Assert.Contains("truncated IDX header", Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(new byte[] { 0, 0, 8, 3, 0, 0 })).Message);
        byte[] raw = ImagesIdx(1, 2, 2, _ => 0);
        BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(8), -5);
        Assert.Contains("invalid rows", Assert.Throws<InvalidDataException>(() => IdxFile.ReadImages(raw)).Message);
    }

    [Fact]
    public void Trailing_garbage_is_rejected()
    {
        byte[] raw = [.. LabelsIdx(1, 2), 0xFF];
        Assert.Contains("trailing", Assert.Throws<InvalidDataException>(() => IdxFile.ReadLabels(raw)).Message);
    }
}
