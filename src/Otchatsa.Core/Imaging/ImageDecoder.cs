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
/// <see cref="ImageLimits.MaxDecodeSide"/>. JPEG and WebP are scaled inside the codec, PNG and BMP are streamed
/// row by row through a box filter, so none of them ever exists at full size in memory; only GIF (no scanline
/// decoding in Skia's GIF codec) is decoded at full size and then resampled.</para>
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

            if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
            {
                throw Reject(
                    ImageErrorCode.TooLarge,
                    $"The photo is too large ({width}×{height}). Please send one of at most {limits.MaxSide} pixels per side.");
            }

            double scale = Math.Min(1.0, (double)Math.Max(1, limits.MaxDecodeSide) / Math.Max(width, height));
            var target = new SKSizeI(
                Math.Clamp((int)Math.Round(width * scale), 1, width),
                Math.Clamp((int)Math.Round(height * scale), 1, height));

            using SKBitmap decoded = DecodeFirstFrame(codec, target, scale);
            bool swapsAxes = codec.EncodedOrigin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop
                or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
            SKBitmap upright = ComposeUpright(decoded, target, codec.EncodedOrigin, swapsAxes);
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

    /// <summary>Decodes frame 0 at the smallest size the codec can produce natively that is still ≥ target.</summary>
    private static SKBitmap DecodeFirstFrame(SKCodec codec, SKSizeI target, double scale)
    {
        var full = new SKSizeI(codec.Info.Width, codec.Info.Height);
        SKSizeI size = full;
        if (scale < 1.0)
        {
            // JPEG offers 1/8 steps and rounds to the nearest one, which may undershoot the target; step up until
            // it does not. Codecs that cannot scale (PNG, GIF, BMP) answer with the full size straight away.
            for (float s = (float)scale; s < 1.0f; s = Math.Min(1.0f, s + 0.125f))
            {
                size = codec.GetScaledDimensions(s);
                if (size.Width >= target.Width && size.Height >= target.Height)
                {
                    break;
                }

                size = full;
            }
        }

        SKBitmap? bitmap = null;
        if (size == full && scale < 1.0)
        {
            // The codec cannot shrink (PNG, BMP): stream rows through a box filter instead of holding the full
            // image, so an allowed 40 MP PNG costs a few MB rather than 160 MB.
            bitmap = TryDecodeRowsDownsampled(codec, target);
        }

        bitmap ??= TryDecode(codec, size);
        if (bitmap is null && size != full)
        {
            bitmap = TryDecode(codec, full);
        }

        return bitmap ?? throw Corrupt();
    }

    /// <summary>
    /// Scanline decode with an area-average (box) reduction to <paramref name="target"/>; null when the codec
    /// offers no scanline decoding (GIF, interlaced or otherwise), in which case the caller decodes in full.
    /// </summary>
    private static SKBitmap? TryDecodeRowsDownsampled(SKCodec codec, SKSizeI target)
    {
        int w = codec.Info.Width;
        int h = codec.Info.Height;
        int tw = target.Width;
        int th = target.Height;
        var rowInfo = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        if (codec.StartScanlineDecode(rowInfo) != SKCodecResult.Success)
        {
            return null;
        }

        bool bottomUp = codec.ScanlineOrder == SKCodecScanlineOrder.BottomUp;
        var outInfo = new SKImageInfo(tw, th, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        using var row = new SKBitmap(new SKImageInfo(w, 1, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb()));
        var output = new SKBitmap();
        try
        {
            if (!output.TryAllocPixels(outInfo))
            {
                throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
            }

            var columnOf = new int[w];
            var columnCount = new int[tw];
            for (int x = 0; x < w; x++)
            {
                columnOf[x] = (int)((long)x * tw / w);
                columnCount[columnOf[x]]++;
            }

            var sums = new long[tw * 4];
            var outRow = new byte[tw * 4];
            int currentTy = -1;
            int rowsInCell = 0;
            for (int i = 0; i < h; i++)
            {
                if (codec.GetScanlines(row.GetPixels(), 1, row.RowBytes) != 1)
                {
                    throw Corrupt(); // incomplete input: same policy as a full decode
                }

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

                ReadOnlySpan<byte> pixels = row.GetPixelSpan();
                for (int x = 0; x < w; x++)
                {
                    int o = columnOf[x] * 4;
                    int p = x * 4;
                    sums[o] += pixels[p];
                    sums[o + 1] += pixels[p + 1];
                    sums[o + 2] += pixels[p + 2];
                    sums[o + 3] += pixels[p + 3];
                }

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

    private static SKBitmap ComposeUpright(SKBitmap decoded, SKSizeI target, SKEncodedOrigin origin, bool swapsAxes)
    {
        int w = target.Width;
        int h = target.Height;
        var info = new SKImageInfo(swapsAxes ? h : w, swapsAxes ? w : h, SKColorType.Rgba8888, SKAlphaType.Opaque, SKColorSpace.CreateSrgb());
        var output = new SKBitmap();
        try
        {
            if (!output.TryAllocPixels(info))
            {
                throw Reject(ImageErrorCode.TooLarge, "The photo is too large to process right now. Please send a smaller one.");
            }

            // Exact-size draws use nearest sampling so rotation alone never blurs; real downscales use mipmaps,
            // because a 6:1 bilinear reduction aliases badly on fabric textures.
            bool resized = decoded.Width != w || decoded.Height != h;
            bool bigStep = decoded.Width > 2 * w || decoded.Height > 2 * h;
            SKSamplingOptions sampling = !resized ? new SKSamplingOptions(SKFilterMode.Nearest)
                : bigStep ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
                : new SKSamplingOptions(SKFilterMode.Linear);

            using SKPixmap pixmap = decoded.PeekPixels();
            using SKImage image = SKImage.FromPixels(pixmap);
            using (var canvas = new SKCanvas(output))
            {
                canvas.Clear(SKColors.White);
                canvas.SetMatrix(OrientationMatrix(origin, w, h));
                canvas.DrawImage(image, new SKRect(0, 0, w, h), sampling);
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
