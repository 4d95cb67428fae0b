using Otchatsa.Imaging;
using SkiaSharp;
using static Otchatsa.Tests.Imaging.SyntheticImages;

namespace Otchatsa.Tests.Imaging;

/// <summary>Writes the generated corpus once per test class into a temp directory and removes it afterwards.</summary>
public sealed class CorpusDirectory : IDisposable
{
    public CorpusDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "otchatsa-corpus-" + Guid.NewGuid().ToString("N"));
        Files = BadImageCorpus.WriteTo(Root).ToDictionary(e => e.FileName);
    }

    public string Root { get; }

    public IReadOnlyDictionary<string, CorpusEntry> Files { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>Runs <see cref="ImageDecoder"/> over the generated corpus and checks streams, orientation and scaling.</summary>
public sealed class ImageDecoderTests(CorpusDirectory corpus) : IClassFixture<CorpusDirectory>
{
    public static TheoryData<string> CorpusFileNames => new(BadImageCorpus.Entries.Select(e => e.FileName));

    [Fact]
    public void The_corpus_has_at_least_25_distinct_files_covering_every_error_code_and_success()
    {
        Assert.True(BadImageCorpus.Entries.Count >= 25, $"only {BadImageCorpus.Entries.Count} entries");
        Assert.Equal(BadImageCorpus.Entries.Count, BadImageCorpus.Entries.Select(e => e.FileName).Distinct().Count());
        foreach (ImageErrorCode code in Enum.GetValues<ImageErrorCode>())
        {
            Assert.Contains(BadImageCorpus.Entries, e => e.ExpectedError == code);
        }

        Assert.Contains(BadImageCorpus.Entries, e => e.ShouldDecode);
    }

    [Theory]
    [MemberData(nameof(CorpusFileNames))]
    public void Each_corpus_file_gets_its_expected_outcome(string fileName)
    {
        CorpusEntry entry = corpus.Files[fileName];
        byte[] bytes = File.ReadAllBytes(entry.Path!);
        AssertOutcome(entry, () => ImageDecoder.Decode(bytes));
    }

    [Theory]
    [MemberData(nameof(CorpusFileNames))]
    public void The_stream_overload_agrees_with_the_byte_overload_on_each_corpus_file(string fileName)
    {
        CorpusEntry entry = corpus.Files[fileName];
        using var stream = new NonSeekableStream(File.OpenRead(entry.Path!));
        AssertOutcome(entry, () => ImageDecoder.Decode(stream));
    }

    [Fact]
    public void Refusal_messages_are_short_polite_and_free_of_internals()
    {
        foreach (CorpusEntry entry in corpus.Files.Values.Where(e => !e.ShouldDecode))
        {
            var ex = Assert.Throws<ImageRejectedException>(() => ImageDecoder.Decode(File.ReadAllBytes(entry.Path!)));
            Assert.InRange(ex.Message.Length, 10, 120);
            Assert.DoesNotContain("Sk", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("exception", ex.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(corpus.Root, ex.Message, StringComparison.Ordinal);
            Assert.Contains("lease", ex.Message, StringComparison.Ordinal); // every refusal says what to do instead
        }
    }

    [Fact]
    public void An_endless_stream_is_refused_as_too_large_after_reading_one_byte_past_the_limit()
    {
        var limits = new ImageLimits { MaxBytes = 1_000_000 };
        var endless = new EndlessJpegStream();

        var ex = Assert.Throws<ImageRejectedException>(() => ImageDecoder.Decode(endless, limits));

        Assert.Equal(ImageErrorCode.TooLarge, ex.Code);
        Assert.Equal(limits.MaxBytes + 1, endless.BytesRead);
    }

    [Fact]
    public async Task An_endless_stream_is_refused_asynchronously_too()
    {
        var limits = new ImageLimits { MaxBytes = 1_000_000 };
        var endless = new EndlessJpegStream();

        var ex = await Assert.ThrowsAsync<ImageRejectedException>(() => ImageDecoder.DecodeAsync(endless, limits));

        Assert.Equal(ImageErrorCode.TooLarge, ex.Code);
        Assert.Equal(limits.MaxBytes + 1, endless.BytesRead);
    }

    [Fact]
    public void A_seekable_stream_longer_than_the_limit_is_refused_without_being_read()
    {
        var stream = new CountingStream(new MemoryStream(new byte[2048]));

        var ex = Assert.Throws<ImageRejectedException>(() => ImageDecoder.Decode(stream, new ImageLimits { MaxBytes = 1024 }));

        Assert.Equal(ImageErrorCode.TooLarge, ex.Code);
        Assert.Equal(0, stream.BytesRead);
    }

    [Fact]
    public async Task A_photo_streamed_asynchronously_decodes()
    {
        using var stream = new NonSeekableStream(new MemoryStream(Jpeg(40, 30, c => c.Clear(Red))));
        using DecodedImage image = await ImageDecoder.DecodeAsync(stream);
        Assert.Equal((40, 30), (image.OriginalWidth, image.OriginalHeight));
    }

    [Theory]
    [InlineData(1, "TL", "TR")]
    [InlineData(2, "TR", "TL")]
    [InlineData(3, "BR", "BL")]
    [InlineData(4, "BL", "BR")]
    [InlineData(5, "TL", "BL")]
    [InlineData(6, "TR", "BR")]
    [InlineData(7, "BR", "TR")]
    [InlineData(8, "BL", "TL")]
    public void Every_exif_orientation_puts_the_stored_top_corners_where_a_viewer_shows_them(int orientation, string redCorner, string greenCorner)
    {
        // Stored 64×32 with red at the stored top-left and green at the stored top-right; expected corners follow
        // the EXIF 2.3 definitions of "row 0" and "column 0" for each tag value.
        byte[] jpeg = WithExifOrientation(BadImageCorpus.MarkedJpeg(64, 32, 16), orientation);

        using DecodedImage image = ImageDecoder.Decode(jpeg);

        bool swapped = orientation >= 5;
        Assert.Equal(swapped ? (32, 64) : (64, 32), (image.Bitmap.Width, image.Bitmap.Height));
        Assert.Equal((image.Bitmap.Width, image.Bitmap.Height), (image.OriginalWidth, image.OriginalHeight));
        AssertNear(Red, CornerPixel(image.Bitmap, redCorner), 40, $"red in {redCorner}");
        AssertNear(Green, CornerPixel(image.Bitmap, greenCorner), 40, $"green in {greenCorner}");
    }

    [Fact]
    public void A_large_photo_is_downscaled_to_MaxDecodeSide_and_reports_its_original_size()
    {
        byte[] jpeg = Jpeg(3000, 1000, c => c.Clear(Red), quality: 70);

        using DecodedImage image = ImageDecoder.Decode(jpeg, new ImageLimits { MaxDecodeSide = 600 });

        Assert.Equal((600, 200), (image.Bitmap.Width, image.Bitmap.Height));
        Assert.Equal((3000, 1000), (image.OriginalWidth, image.OriginalHeight));
        Assert.True(image.IsDownscaled);
        Assert.Equal(5.0, image.ScaleX, 3);
    }

    [Fact]
    public void Decoded_bitmaps_are_opaque_rgba8888_with_every_alpha_byte_255()
    {
        using DecodedImage image = ImageDecoder.Decode(File.ReadAllBytes(corpus.Files["alpha.png"].Path!));

        Assert.Equal(SKColorType.Rgba8888, image.Bitmap.ColorType);
        Assert.Equal(SKAlphaType.Opaque, image.Bitmap.AlphaType);
        ReadOnlySpan<byte> rgba = image.Bitmap.GetPixelSpan();
        Assert.Equal(image.Bitmap.Width * image.Bitmap.Height * 4, rgba.Length);
        for (int i = 3; i < rgba.Length; i += 4)
        {
            Assert.Equal(255, rgba[i]);
        }

        Assert.Equal([0, 0, 255, 255], rgba[(10 * 4)..(11 * 4)].ToArray()); // byte order is R, G, B, A
    }

    [Fact]
    public void Decoding_the_corpus_in_parallel_gives_the_same_outcomes_as_one_at_a_time()
    {
        CorpusEntry[] entries = [.. corpus.Files.Values.Where(e => new FileInfo(e.Path!).Length < 1_000_000)];
        var outcomes = new string[entries.Length * 4];
        Parallel.For(0, outcomes.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            CorpusEntry entry = entries[i % entries.Length];
            try
            {
                using DecodedImage image = ImageDecoder.Decode(File.ReadAllBytes(entry.Path!));
                outcomes[i] = $"ok {image.OriginalWidth}x{image.OriginalHeight}";
            }
            catch (ImageRejectedException ex)
            {
                outcomes[i] = ex.Code.ToWire();
            }
        });

        for (int i = 0; i < outcomes.Length; i++)
        {
            CorpusEntry entry = entries[i % entries.Length];
            Assert.Equal(entry.ShouldDecode ? $"ok {entry.Width}x{entry.Height}" : entry.ExpectedWireCode, outcomes[i]);
        }
    }

    [Fact]
    public void Randomly_damaged_photos_are_either_decoded_or_refused_with_a_known_code()
    {
        // A small deterministic fuzz: flipped bytes, cuts and inserted junk in every small decodable file. A native
        // crash would take the test host down; a raw exception escaping fails the assertion below.
        var random = new Random(42);
        int decoded = 0;
        int refused = 0;
        foreach (CorpusEntry entry in corpus.Files.Values.Where(e => e.ShouldDecode && new FileInfo(e.Path!).Length < 50_000).OrderBy(e => e.FileName))
        {
            byte[] original = File.ReadAllBytes(entry.Path!);
            for (int round = 0; round < 40; round++)
            {
                byte[] damaged = Damage(original, random);
                try
                {
                    using DecodedImage image = ImageDecoder.Decode(damaged);
                    Assert.Equal(SKAlphaType.Opaque, image.Bitmap.AlphaType);
                    decoded++;
                }
                catch (ImageRejectedException)
                {
                    refused++;
                }
            }
        }

        Assert.True(decoded > 0 && refused > 0, $"decoded {decoded}, refused {refused}");
    }

    [Fact]
    public void Chat_front_ends_accept_jpeg_png_gif_and_webp_attachments_only()
    {
        // The one rule the Discord library is handed by the worker: what chat accepts before decoding.
        Assert.Equal("image/jpeg", ImageFormatSniffer.ChatPhotoMediaType(NoiseJpeg(8, 8, 1)));
        Assert.Equal("image/png", ImageFormatSniffer.ChatPhotoMediaType(Encode(SKEncodedImageFormat.Png, 4, 4, c => c.Clear(Red))));
        Assert.Equal("image/gif", ImageFormatSniffer.ChatPhotoMediaType(Gif(2, 2, [Red], [new byte[4]])));
        Assert.Equal("image/webp", ImageFormatSniffer.ChatPhotoMediaType(Encode(SKEncodedImageFormat.Webp, 4, 4, c => c.Clear(Red))));
        Assert.Null(ImageFormatSniffer.ChatPhotoMediaType(Bmp(2, 2, (_, _) => Red))); // the decoder reads BMP; chat never took it
        Assert.Null(ImageFormatSniffer.ChatPhotoMediaType("just some text, not an image"u8));
        Assert.Null(ImageFormatSniffer.ChatPhotoMediaType([0xFF, 0xD8]));
    }

    private static byte[] Damage(byte[] original, Random random)
    {
        byte[] data = (byte[])original.Clone();
        switch (random.Next(3))
        {
            case 0:
                for (int i = random.Next(1, 9); i > 0; i--)
                {
                    data[random.Next(data.Length)] ^= (byte)random.Next(1, 256);
                }

                return data;
            case 1:
                return data[..random.Next(1, data.Length)];
            default:
                var junk = new byte[random.Next(1, 64)];
                random.NextBytes(junk);
                int at = random.Next(data.Length);
                return [.. data.AsSpan(0, at), .. junk, .. data.AsSpan(at)];
        }
    }

    private static void AssertOutcome(CorpusEntry entry, Func<DecodedImage> decode)
    {
        if (!entry.ShouldDecode)
        {
            var ex = Assert.Throws<ImageRejectedException>(() => decode().Dispose());
            Assert.Equal(entry.ExpectedError, ex.Code);
            return;
        }

        using DecodedImage image = decode();
        Assert.Equal(entry.Format, image.Format);
        Assert.Equal((entry.Width, entry.Height), (image.OriginalWidth, image.OriginalHeight));
        Assert.Equal(entry.BitmapSize ?? (entry.Width, entry.Height), (image.Bitmap.Width, image.Bitmap.Height));
        Assert.Equal(SKColorType.Rgba8888, image.Bitmap.ColorType);
        Assert.Equal(SKAlphaType.Opaque, image.Bitmap.AlphaType);
        foreach (PixelProbe probe in entry.Probes)
        {
            AssertNear(probe.Expected, image.Bitmap.GetPixel(probe.X, probe.Y), probe.Tolerance, $"{entry.FileName} at ({probe.X},{probe.Y})");
        }
    }

    private static SKColor CornerPixel(SKBitmap bitmap, string corner)
    {
        int x = corner[1] == 'L' ? 8 : bitmap.Width - 9;
        int y = corner[0] == 'T' ? 8 : bitmap.Height - 9;
        return bitmap.GetPixel(x, y);
    }

    private static void AssertNear(SKColor expected, SKColor actual, int tolerance, string what)
    {
        bool near = Math.Abs(expected.Red - actual.Red) <= tolerance
            && Math.Abs(expected.Green - actual.Green) <= tolerance
            && Math.Abs(expected.Blue - actual.Blue) <= tolerance
            && actual.Alpha == 255;
        Assert.True(near, $"{what}: expected {expected}, got {actual}");
    }

    /// <summary>A JPEG start followed by zeros forever, counting what the decoder pulls.</summary>
    private sealed class EndlessJpegStream : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            buffer.Clear();
            for (int i = 0; i < Math.Min(3, buffer.Length) && BytesRead + i < 3; i++)
            {
                buffer[i] = 0xFF;
            }

            BytesRead += buffer.Length;
            return buffer.Length;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Hides seeking, as a network stream would.</summary>
    private sealed class NonSeekableStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A seekable stream that counts bytes read.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
