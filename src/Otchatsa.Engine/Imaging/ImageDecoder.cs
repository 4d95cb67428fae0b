using SkiaSharp;

namespace Otchatsa.Imaging;

/// <summary>
/// Turns untrusted photo bytes into an upright, opaque RGBA bitmap, or refuses them with an
/// <see cref="ImageRejectedException"/> whose message can be shown to the sender.
/// </summary>
/// <remarks>
/// <para>Checks run cheapest first: empty → byte size → magic-byte sniffing → header dimensions (read by
/// <see cref="SKCodec"/> without touching pixel data) → decode. No pixel buffer is allocated before the header's
/// width and height have passed <see cref="ImageLimits.MaxSide"/> and <see cref="ImageLimits.MaxPixels"/>, so a
/// small file claiming 60000×60000 costs nothing.</para>
/// <para>Decodable: JPEG (incl. grayscale and Adobe CMYK), PNG (any depth, palette, alpha), GIF (first frame),
/// WebP (first frame), BMP, ICO. Recognised but refused as <c>unsupported_format</c>, because the bundled
/// libSkiaSharp has no codec for them: HEIC/HEIF, AVIF, TIFF, PSD, SVG, PDF, JPEG XL. Videos (ISO-BMFF without an
/// image brand), HTML, ZIP and anything unrecognised are <c>not_an_image</c>.</para>
/// <para>Output: <see cref="SKColorType.Rgba8888"/>, <see cref="SKAlphaType.Opaque"/>, sRGB; transparency is
/// composited on white; the EXIF orientation is applied; the long side is at most
/// <see cref="ImageLimits.MaxDecodeSide"/>, reached by an area-average (box) filter. JPEG and WebP are first
/// scaled inside the codec and BMP is streamed row by row, so none of them exists at full size in memory; PNG and
/// GIF have no scanline decoding in this Skia build and are decoded whole first (≤ MaxPixels × 4 bytes, ~160 MB
/// at the default 40 MP).</para>
/// <para>Truncated data is refused as <c>corrupt</c> even when the codec could return a partly grey image: a half
/// photo would give a confidently wrong style, and asking the sender to retry is cheap.</para>
/// <para>Thread-safe: no state is shared between calls.</para>
/// </remarks>
public static class ImageDecoder
{
    /// <summary>Decodes a complete file held in memory.</summary>
    /// <exception cref="ImageRejectedException">The data is not a photo this service can analyse.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, ImageLimits? limits = null)
    {
        limits ??= ImageLimits.Default;
        if (data.IsEmpty)
        {
            throw Reject(ImageErrorCode.Empty, "The file is empty. Please send the photo again.");
        }

        if (data.Length > limits.MaxBytes)
        {
            throw TooManyBytes(limits);
        }

        SniffedFormat format = ImageFormatSniffer.Sniff(data);
        string name = format switch
        {
            SniffedFormat.Jpeg => "jpeg",
            SniffedFormat.Png => "png",
            SniffedFormat.Gif => "gif",
            SniffedFormat.Webp => "webp",
            SniffedFormat.Bmp => "bmp",
            SniffedFormat.Ico => "ico",
            _ => throw Refuse(format),
        };

        return DecodeKnown(data, name, limits);
    }

    /// <inheritdoc cref="Decode(ReadOnlySpan{byte}, ImageLimits?)"/>
    public static DecodedImage Decode(byte[] data, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Decode(data.AsSpan(), limits);
    }

    /// <summary>
    /// Reads at most <see cref="ImageLimits.MaxBytes"/> + 1 bytes from <paramref name="stream"/> and decodes them,
    /// so an oversized upload is refused without being read to the end. I/O errors of the stream itself propagate.
    /// </summary>
    /// <exception cref="ImageRejectedException">The data is not a photo this service can analyse.</exception>
    public static DecodedImage Decode(Stream stream, ImageLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= ImageLimits.Default;
        RefuseBySeekableLength(stream, limits);
        var buffer = new BoundedBuffer(limits.MaxBytes);
        while (buffer.Remaining > 0)
        {
            int n = stream.Read(buffer.FreeSpace());
            if (n == 0)
            {
                break;
            }

            buffer.Advance(n);
        }

        return DecodeBuffered(buffer, limits);
    }

    /// <inheritdoc cref="Decode(Stream, ImageLimits?)"/>
    public static async Task<DecodedImage> DecodeAsync(Stream stream, ImageLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        limits ??= ImageLimits.Default;
        RefuseBySeekableLength(stream, limits);
        var buffer = new BoundedBuffer(limits.MaxBytes);
        while (buffer.Remaining > 0)
        {
            int n = await stream.ReadAsync(buffer.FreeMemory(), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            buffer.Advance(n);
        }

        return DecodeBuffered(buffer, limits);
    }

    private static DecodedImage DecodeBuffered(BoundedBuffer buffer, ImageLimits limits) =>
        buffer.Overflowed ? throw TooManyBytes(limits) : Decode(buffer.Data, limits);

    private static void RefuseBySeekableLength(Stream stream, ImageLimits limits)
    {
        if (stream.CanSeek && stream.Length - stream.Position > limits.MaxBytes)
        {
            throw TooManyBytes(limits);
        }
    }

    private static DecodedImage DecodeKnown(ReadOnlySpan<byte> data, string format, ImageLimits limits)
    {
        try
        {
            using var skData = SKData.CreateCopy(data);
            using var codec = SKCodec.Create(skData) ?? throw Corrupt();
            int width = codec.Info.Width;
            int height = codec.Info.Height;
            if (width <= 0 || height <= 0)
            {
                throw Corrupt();
            }

            if (width > limits.MaxSide || height > limits.MaxSide)
            {
                throw Reject(
                    ImageErrorCode.TooLarge,
                    $"The photo is too large ({width}×{height}). Please send one of at most {limits.MaxSide} pixels per side.");
            }

            if ((long)width * height > limits.MaxPixels)
            {
                throw Reject(
                    ImageErrorCode.TooLarge,
                    $"The photo is too large ({width}×{height}). Please send one of at most {limits.MaxPixels / 1_000_000} megapixels.");
            }

            double scale = Math.Min(1.0, (double)Math.Max(1, limits.MaxDecodeSide) / Math.Max(width, height));
            var target = new SKSizeI(
                Math.Clamp((int)Math.Round(width * scale), 1, width),
                Math.Clamp((int)Math.Round(height * scale), 1, height));

            using SKBitmap decoded = DecodeFirstFrame(codec, target, scale);
            bool swapsAxes = codec.EncodedOrigin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
                or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
            SKBitmap upright = ComposeUpright(decoded, codec.EncodedOrigin, swapsAxes);
            return swapsAxes
                ? new DecodedImage(upright, height, width, format)
                : new DecodedImage(upright, width, height, format);
        }
        catch (ImageRejectedException)
        {
            throw;
        }
        catch (OutOfMemoryException)
        {
            throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
        }
        catch (Exception)
        {
            // Whatever a codec trips over in hostile data is the sender's file being broken, not our bug to surface.
            throw Corrupt();
        }
    }

    /// <summary>Decodes frame 0 at exactly <paramref name="target"/> (stored orientation), never above it for long.</summary>
    private static SKBitmap DecodeFirstFrame(SKCodec codec, SKSizeI target, double scale)
    {
        var full = new SKSizeI(codec.Info.Width, codec.Info.Height);
        if (scale >= 1.0)
        {
            return TryDecode(codec, full) ?? throw Corrupt();
        }

        SKSizeI size = NativeScaledSize(codec, target, scale);
        if (size == full)
        {
            // The codec cannot shrink. BMP can stream rows through the box filter and never exists at full size;
            // PNG and GIF offer no scanline decoding in this Skia build and are decoded whole first.
            SKBitmap? streamed = TryDecodeScanlinesDownsampled(codec, target);
            if (streamed is not null)
            {
                return streamed;
            }
        }

        SKBitmap decoded = TryDecode(codec, size)
            ?? (size != full ? TryDecode(codec, full) : null)
            ?? throw Corrupt();
        if (decoded.Width == target.Width && decoded.Height == target.Height)
        {
            return decoded;
        }

        using (decoded)
        {
            int rowBytes = decoded.RowBytes;
            int length = decoded.Width * 4;
            return BoxDownsample(decoded.Width, decoded.Height, target, bottomUp: false, i => decoded.GetPixelSpan().Slice(i * rowBytes, length));
        }
    }

    /// <summary>
    /// The smallest size the codec decodes to natively that is still ≥ target (JPEG: 1/8 steps, WebP: any);
    /// the full size for codecs that cannot scale.
    /// </summary>
    private static SKSizeI NativeScaledSize(SKCodec codec, SKSizeI target, double scale)
    {
        // JPEG rounds to the nearest 1/8, which may undershoot the target; step up until it does not.
        for (float s = (float)scale; s < 1.0f; s = Math.Min(1.0f, s + 0.125f))
        {
            SKSizeI size = codec.GetScaledDimensions(s);
            if (size.Width >= target.Width && size.Height >= target.Height)
            {
                return size;
            }
        }

        return new SKSizeI(codec.Info.Width, codec.Info.Height);
    }

    private static SKBitmap? TryDecode(SKCodec codec, SKSizeI size)
    {
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        var bitmap = new SKBitmap();
        try
        {
            if (!bitmap.TryAllocPixels(info))
            {
                throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
            }

            // Frame 0 only: animated GIF/WebP are judged by their first frame. Clear first so that a GIF whose first
            // frame does not cover the canvas shows transparent (then white), not stale memory.
            bitmap.Erase(SKColors.Transparent);
            var options = new SKCodecOptions(0) { ZeroInitialized = SKZeroInitialized.Yes };
            SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels(), options);
            switch (result)
            {
                case SKCodecResult.Success:
                    SKBitmap done = bitmap;
                    bitmap = null;
                    return done;
                case SKCodecResult.InvalidScale:
                    return null;
                default:
                    throw Corrupt();
            }
        }
        finally
        {
            bitmap?.Dispose();
        }
    }

    /// <summary>Scanline decode straight into the box filter; null when the codec has no scanline decoding.</summary>
    private static SKBitmap? TryDecodeScanlinesDownsampled(SKCodec codec, SKSizeI target)
    {
        int w = codec.Info.Width;
        var rowInfo = new SKImageInfo(w, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        if (codec.StartScanlineDecode(rowInfo) != SKCodecResult.Success)
        {
            return null;
        }

        using var row = new SKBitmap(new SKImageInfo(w, 1, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb()));
        return BoxDownsample(w, codec.Info.Height, target, codec.ScanlineOrder == SKCodecScanlineOrder.BottomUp, _ =>
            codec.GetScanlines(row.GetPixels(), 1, row.RowBytes) == 1
                ? row.GetPixelSpan()
                : throw Corrupt()); // incomplete input: same policy as a full decode
    }

    private delegate ReadOnlySpan<byte> RowReader(int index);

    /// <summary>
    /// Area-average reduction of premultiplied RGBA rows, read one at a time, to <paramref name="target"/>.
    /// Box averaging is exact for large ratios (no aliasing, unlike a single bilinear step) and needs only one
    /// source row plus the output in memory.
    /// </summary>
    private static SKBitmap BoxDownsample(int w, int h, SKSizeI target, bool bottomUp, RowReader readRow)
    {
        int tw = target.Width;
        int th = target.Height;
        var output = new SKBitmap();
        try
        {
            if (!output.TryAllocPixels(new SKImageInfo(tw, th, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb())))
            {
                throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
            }

            // Source columns [columnStart[tx], columnStart[tx + 1]) average into output column tx.
            var columnStart = new int[tw + 1];
            var columnCount = new int[tw];
            for (int tx = 0; tx <= tw; tx++)
            {
                columnStart[tx] = (int)(((long)tx * w + tw - 1) / tw);
            }

            for (int tx = 0; tx < tw; tx++)
            {
                columnCount[tx] = columnStart[tx + 1] - columnStart[tx];
            }

            var sums = new long[tw * 4];
            var outRow = new byte[tw * 4];
            int currentTy = -1;
            int rowsInCell = 0;
            for (int i = 0; i < h; i++)
            {
                ReadOnlySpan<byte> pixels = readRow(i);
                int y = bottomUp ? h - 1 - i : i;
                int ty = (int)((long)y * th / h);
                if (ty != currentTy)
                {
                    if (rowsInCell > 0)
                    {
                        EmitRow(output, currentTy, sums, columnCount, rowsInCell, outRow);
                    }

                    Array.Clear(sums);
                    currentTy = ty;
                    rowsInCell = 0;
                }

                AccumulateRow(pixels[..(w * 4)], columnStart, sums);

                rowsInCell++;
            }

            EmitRow(output, currentTy, sums, columnCount, rowsInCell, outRow);
            SKBitmap done = output;
            output = null;
            return done;
        }
        finally
        {
            output?.Dispose();
        }
    }

    private static void AccumulateRow(ReadOnlySpan<byte> pixels, int[] columnStart, long[] sums)
    {
        for (int tx = 0; tx < columnStart.Length - 1; tx++)
        {
            // Per-run locals keep the hot loop in registers; a run is at most MaxSide pixels, so int cannot overflow.
            int r = 0, g = 0, b = 0, a = 0;
            ReadOnlySpan<byte> run = pixels[(columnStart[tx] * 4)..(columnStart[tx + 1] * 4)];
            for (int p = 0; p + 3 < run.Length; p += 4)
            {
                r += run[p];
                g += run[p + 1];
                b += run[p + 2];
                a += run[p + 3];
            }

            sums[tx * 4] += r;
            sums[tx * 4 + 1] += g;
            sums[tx * 4 + 2] += b;
            sums[tx * 4 + 3] += a;
        }
    }

    private static void EmitRow(SKBitmap output, int ty, long[] sums, int[] columnCount, int rowsInCell, byte[] outRow)
    {
        for (int tx = 0; tx < columnCount.Length; tx++)
        {
            long n = (long)columnCount[tx] * rowsInCell;
            for (int c = 0; c < 4; c++)
            {
                outRow[tx * 4 + c] = (byte)((sums[tx * 4 + c] + n / 2) / n);
            }
        }

        System.Runtime.InteropServices.Marshal.Copy(outRow, 0, output.GetPixels() + ty * output.RowBytes, outRow.Length);
    }

    /// <summary>Rotates/flips the target-sized premultiplied bitmap upright onto white, as opaque RGBA.</summary>
    private static SKBitmap ComposeUpright(SKBitmap decoded, SKEncodedOrigin origin, bool swapsAxes)
    {
        int w = decoded.Width;
        int h = decoded.Height;
        var info = new SKImageInfo(swapsAxes ? h : w, swapsAxes ? w : h, SKColorType.Rgba8888, SKAlphaType.Opaque, SKColorSpace.CreateSrgb());
        var output = new SKBitmap();
        try
        {
            if (!output.TryAllocPixels(info))
            {
                throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
            }

            using SKPixmap pixmap = decoded.PeekPixels();
            using SKImage image = SKImage.FromPixels(pixmap);
            using (var canvas = new SKCanvas(output))
            {
                canvas.Clear(SKColors.White);
                canvas.SetMatrix(OrientationMatrix(origin, w, h));
                // Same size in and out: nearest sampling makes this an exact pixel permutation plus the blend.
                canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest));
            }

            SKBitmap done = output;
            output = null;
            return done;
        }
        finally
        {
            output?.Dispose();
        }
    }

    /// <summary>Maps the stored w×h image onto the upright canvas (EXIF orientation tags 1–8).</summary>
    private static SKMatrix OrientationMatrix(SKEncodedOrigin origin, float w, float h) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),
        _ => SKMatrix.Identity,
    };

    private static ImageRejectedException Refuse(SniffedFormat format) => format switch
    {
        SniffedFormat.Heif => Unsupported("HEIC/HEIF photos aren't supported yet. Please send it as JPEG or PNG."),
        SniffedFormat.Avif => Unsupported("AVIF images aren't supported yet. Please send it as JPEG or PNG."),
        SniffedFormat.Tiff => Unsupported("TIFF images aren't supported. Please send it as JPEG or PNG."),
        SniffedFormat.Psd => Unsupported("Photoshop files aren't supported. Please export the photo as JPEG or PNG."),
        SniffedFormat.Svg => Unsupported("SVG drawings aren't supported. Please send a photo (JPEG or PNG)."),
        SniffedFormat.Pdf => Unsupported("PDF files aren't supported. Please send a photo (JPEG or PNG)."),
        SniffedFormat.JpegXl => Unsupported("JPEG XL images aren't supported yet. Please send it as JPEG or PNG."),
        SniffedFormat.Video => Reject(ImageErrorCode.NotAnImage, "This looks like a video. Please send a photo instead."),
        _ => Reject(ImageErrorCode.NotAnImage, "This doesn't look like a photo. Please send a JPEG, PNG or WebP image."),
    };

    private static ImageRejectedException Unsupported(string message) => Reject(ImageErrorCode.UnsupportedFormat, message);

    private static ImageRejectedException TooManyBytes(ImageLimits limits) => Reject(
        ImageErrorCode.TooLarge,
        $"The file is too big. Please send a photo smaller than {Math.Max(1, limits.MaxBytes / (1024 * 1024))} MB.");

    private static ImageRejectedException Corrupt() =>
        Reject(ImageErrorCode.Corrupt, "The photo seems to be damaged or incomplete. Please try sending it again.");

    private static ImageRejectedException Reject(ImageErrorCode code, string message) => new(code, message);

    /// <summary>A growable buffer that stops accepting data one byte past the limit.</summary>
    private sealed class BoundedBuffer(long maxBytes)
    {
        private readonly int _capacity = (int)Math.Min(maxBytes + 1, Array.MaxLength);
        private byte[] _bytes = new byte[(int)Math.Min(maxBytes + 1, 64 * 1024)];
        private int _length;

        public int Remaining => _capacity - _length;

        public bool Overflowed => _length > maxBytes;

        public ReadOnlySpan<byte> Data => _bytes.AsSpan(0, _length);

        public Span<byte> FreeSpace() => FreeMemory().Span;

        public Memory<byte> FreeMemory()
        {
            if (_length == _bytes.Length)
            {
                Array.Resize(ref _bytes, (int)Math.Min((long)_bytes.Length * 2, _capacity));
            }

            return _bytes.AsMemory(_length);
        }

        public void Advance(int count) => _length += count;
    }
}
