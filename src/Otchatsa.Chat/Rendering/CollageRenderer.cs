using System.Text;
using Otchatsa.Imaging;
using SkiaSharp;

namespace Otchatsa.Rendering;

/// <summary>One collage cell: an image (decoded or encoded) and an optional caption.</summary>
public sealed class CollageTile
{
    private CollageTile(SKBitmap? bitmap, ReadOnlyMemory<byte> encoded, string? caption)
    {
        Bitmap = bitmap;
        Encoded = encoded;
        Caption = caption;
    }

    /// <summary>Borrowed, not owned: the caller keeps disposing it.</summary>
    public SKBitmap? Bitmap { get; }

    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>Text under the tile, e.g. "demo-shoes · Ankle boot #17"; ellipsised to the tile width.</summary>
    public string? Caption { get; }

    public static CollageTile FromBitmap(SKBitmap bitmap, string? caption = null) =>
        new(bitmap ?? throw new ArgumentNullException(nameof(bitmap)), default, caption);

    /// <summary>An encoded image (JPEG, PNG, WebP, …); undecodable bytes become a grey placeholder, not an error.</summary>
    public static CollageTile FromEncoded(ReadOnlyMemory<byte> bytes, string? caption = null) => new(null, bytes, caption);
}

/// <summary>Layout and output settings for <see cref="CollageRenderer"/>.</summary>
public sealed record CollageOptions
{
    public int Columns { get; init; } = 3;
    public int Rows { get; init; } = 3;
    public int TileSize { get; init; } = 320;

    /// <summary>Height of the caption strip under each tile; 0 disables captions.</summary>
    public int CaptionHeight { get; init; } = 36;

    public int Gap { get; init; } = 8;
    public float CaptionFontSize { get; init; } = 17;
    public float HeaderFontSize { get; init; } = 26;
    public SKEncodedImageFormat Format { get; init; } = SKEncodedImageFormat.Png;
    public int JpegQuality { get; init; } = 88;

    /// <summary>
    /// Font files tried when <see cref="SKTypeface.Default"/> has no glyphs (the NoDependencies Skia build has no
    /// fontconfig). Later entries are fallbacks for characters the first usable font lacks (e.g. Hangul).
    /// </summary>
    public IReadOnlyList<string> FontFiles { get; init; } = CollageFonts.WellKnownFontFiles;

    /// <summary>Skip tiles whose header announces more pixels than this (memory guard for untrusted bytes).</summary>
    public long MaxTilePixels { get; init; } = 40_000_000;
}

/// <summary>The encoded collage.</summary>
/// <param name="Bytes">The encoded image (≤ <see cref="CollageRenderer.MaxBytes"/>).</param>
/// <param name="Width">Pixel width.</param>
/// <param name="Height">Pixel height.</param>
/// <param name="MediaType">MIME type of <paramref name="Bytes"/>.</param>
/// <param name="CaptionsRendered">False when no font with Latin glyphs was found and captions were left out.</param>
/// <param name="PlaceholderTiles">Indices of tiles that could not be decoded and were drawn as grey boxes.</param>
public sealed record CollageResult(
    byte[] Bytes,
    int Width,
    int Height,
    string MediaType,
    bool CaptionsRendered,
    IReadOnlyList<int> PlaceholderTiles);

/// <summary>
/// Renders up to <c>Columns × Rows</c> thumbnails (default 3×3, 320 px) into one image for a chat reply: each image is
/// fitted aspect-preserving and centred on white, with an optional caption strip under it and an optional header line.
/// Output stays within Telegram's photo limits (10 MB, width + height ≤ 10,000) for any sane options.
/// </summary>
public sealed class CollageRenderer(CollageOptions? options = null)
{
    /// <summary>Telegram <c>sendPhoto</c> limits.</summary>
    public const int MaxBytes = 10 * 1024 * 1024;
    public const int MaxWidthPlusHeight = 10_000;

    private static readonly SKColor Background = SKColors.White;
    private static readonly SKColor PlaceholderColor = new(0xE0, 0xE0, 0xE0);
    private static readonly SKColor CaptionColor = new(0x33, 0x33, 0x33);

    public CollageOptions Options { get; } = options ?? new CollageOptions();

    /// <summary>Height of the header band for the given header text (0 when there is none).</summary>
    public int HeaderHeight(string? header) =>
        string.IsNullOrWhiteSpace(header) ? 0 : (int)MathF.Ceiling(Options.HeaderFontSize * 1.8f);

    /// <summary>Canvas size for the configured grid.</summary>
    public (int Width, int Height) CanvasSize(string? header = null)
    {
        var o = Options;
        int width = o.Columns * o.TileSize + (o.Columns + 1) * o.Gap;
        int height = HeaderHeight(header) + o.Rows * (o.TileSize + o.CaptionHeight) + (o.Rows + 1) * o.Gap;
        return (width, height);
    }

    /// <summary>The square image area of cell <paramref name="index"/> (row-major), in output pixels.</summary>
    public SKRectI TileRect(int index, string? header = null)
    {
        var o = Options;
        int column = index % o.Columns;
        int row = index / o.Columns;
        int left = o.Gap + column * (o.TileSize + o.Gap);
        int top = HeaderHeight(header) + o.Gap + row * (o.TileSize + o.CaptionHeight + o.Gap);
        return new SKRectI(left, top, left + o.TileSize, top + o.TileSize);
    }

    public CollageResult Render(IReadOnlyList<CollageTile> tiles, string? header = null)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        var o = Options;
        if (tiles.Count > o.Columns * o.Rows)
        {
            throw new ArgumentException($"At most {o.Columns * o.Rows} tiles fit a {o.Columns}×{o.Rows} collage, got {tiles.Count}.", nameof(tiles));
        }

        var (width, height) = CanvasSize(header);
        if (width + height > MaxWidthPlusHeight)
        {
            throw new ArgumentException($"A {width}×{height} collage exceeds Telegram's width + height ≤ {MaxWidthPlusHeight}; use smaller tiles.");
        }

        var fonts = CollageFonts.Resolve(o.FontFiles);
        var placeholders = new List<int>();
        using var surface = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(surface))
        {
            canvas.Clear(Background);
            var sampling = new SKSamplingOptions(SKCubicResampler.Mitchell);
            for (int i = 0; i < tiles.Count; i++)
            {
                var rect = TileRect(i, header);
                if (!DrawTile(canvas, tiles[i], rect, sampling, o.MaxTilePixels))
                {
                    placeholders.Add(i);
                    using var paint = new SKPaint { Color = PlaceholderColor };
                    canvas.DrawRect(rect, paint);
                }

                if (o.CaptionHeight > 0 && !string.IsNullOrWhiteSpace(tiles[i].Caption))
                {
                    DrawCaption(canvas, fonts, tiles[i].Caption!, o.CaptionFontSize,
                        new SKRect(rect.Left, rect.Bottom, rect.Right, rect.Bottom + o.CaptionHeight), bold: false);
                }
            }

            if (!string.IsNullOrWhiteSpace(header))
            {
                DrawCaption(canvas, fonts, header, o.HeaderFontSize, new SKRect(o.Gap, 0, width - o.Gap, HeaderHeight(header) + o.Gap), bold: true);
            }
        }

        using var data = surface.Encode(o.Format, o.Format == SKEncodedImageFormat.Jpeg ? o.JpegQuality : 100)
            ?? throw new InvalidOperationException($"Skia cannot encode {o.Format}.");
        byte[] bytes = data.ToArray();
        if (bytes.Length > MaxBytes)
        {
            // Only reachable with huge tiles of noise; the default 3×3×320 PNG is well under 2 MB.
            throw new InvalidOperationException($"The collage is {bytes.Length} bytes, over Telegram's {MaxBytes}; use JPEG or smaller tiles.");
        }

        string mediaType = o.Format switch
        {
            SKEncodedImageFormat.Jpeg => "image/jpeg",
            SKEncodedImageFormat.Webp => "image/webp",
            _ => "image/png",
        };
        return new CollageResult(bytes, width, height, mediaType, fonts.Primary is not null, placeholders);
    }

    private static bool DrawTile(SKCanvas canvas, CollageTile tile, SKRectI rect, SKSamplingOptions sampling, long maxPixels)
    {
        if (tile.Bitmap is { } bitmap)
        {
            using var image = SKImage.FromBitmap(bitmap);
            DrawFitted(canvas, image, SKEncodedOrigin.TopLeft, rect, sampling);
            return true;
        }

        if (tile.Encoded.IsEmpty)
        {
            return false;
        }

        using var skData = SKData.CreateCopy(tile.Encoded.Span);
        using var codec = SKCodec.Create(skData);
        if (codec is null || (long)codec.Info.Width * codec.Info.Height > maxPixels)
        {
            return false;
        }

        // Decode at a reduced scale when the codec supports it (JPEG does 1/2, 1/4, 1/8): a 12 MP phone photo for a
        // 320 px tile would otherwise cost ~48 MB per tile.
        var size = codec.GetScaledDimensions(Math.Clamp(2f * rect.Width / Math.Max(codec.Info.Width, codec.Info.Height), 0.125f, 1f));
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var decoded = new SKBitmap(info);
        var result = codec.GetPixels(info, decoded.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            return false;
        }

        using var img = SKImage.FromBitmap(decoded);
        DrawFitted(canvas, img, codec.EncodedOrigin, rect, sampling);
        return true;
    }

    /// <summary>Draws <paramref name="image"/> upright (EXIF origin applied), aspect-preserving and centred in <paramref name="rect"/>.</summary>
    private static void DrawFitted(SKCanvas canvas, SKImage image, SKEncodedOrigin origin, SKRectI rect, SKSamplingOptions sampling)
    {
        bool swapsAxes = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        float uprightW = swapsAxes ? image.Height : image.Width;
        float uprightH = swapsAxes ? image.Width : image.Height;
        float scale = Math.Min(rect.Width / uprightW, rect.Height / uprightH);
        float w = uprightW * scale, h = uprightH * scale;
        var dest = SKRect.Create(rect.Left + (rect.Width - w) / 2, rect.Top + (rect.Height - h) / 2, w, h);

        canvas.Save();
        canvas.ClipRect(rect);
        // Map the upright destination back to the stored orientation, then draw the stored pixels into it.
        canvas.Translate(dest.MidX, dest.MidY);
        canvas.Concat(OriginMatrix(origin));
        float drawW = swapsAxes ? h : w, drawH = swapsAxes ? w : h;
        canvas.DrawImage(image, SKRect.Create(-drawW / 2, -drawH / 2, drawW, drawH), sampling);
        canvas.Restore();
    }

    private static SKMatrix OriginMatrix(SKEncodedOrigin origin) => origin switch
    {
        SKEncodedOrigin.TopRight => SKMatrix.CreateScale(-1, 1),
        SKEncodedOrigin.BottomRight => SKMatrix.CreateRotationDegrees(180),
        SKEncodedOrigin.BottomLeft => SKMatrix.CreateScale(1, -1),
        SKEncodedOrigin.LeftTop => SKMatrix.Concat(SKMatrix.CreateRotationDegrees(90), SKMatrix.CreateScale(1, -1)),
        SKEncodedOrigin.RightTop => SKMatrix.CreateRotationDegrees(90),
        SKEncodedOrigin.RightBottom => SKMatrix.Concat(SKMatrix.CreateRotationDegrees(-90), SKMatrix.CreateScale(1, -1)),
        SKEncodedOrigin.LeftBottom => SKMatrix.CreateRotationDegrees(-90),
        _ => SKMatrix.Identity,
    };

    private static void DrawCaption(SKCanvas canvas, CollageFonts fonts, string text, float size, SKRect strip, bool bold)
    {
        var (typeface, renderable) = fonts.Pick(text);
        if (typeface is null || string.IsNullOrWhiteSpace(renderable))
        {
            return;
        }

        using var font = new SKFont(typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true, Embolden = bold };
        using var paint = new SKPaint { Color = CaptionColor, IsAntialias = true };
        string fitted = Ellipsize(renderable, font, strip.Width - 4);
        font.GetFontMetrics(out var metrics);
        // Centre the text's ascent/descent box vertically in the strip.
        float baseline = strip.MidY - (metrics.Ascent + metrics.Descent) / 2;
        canvas.DrawText(fitted, strip.MidX, baseline, SKTextAlign.Center, font, paint);
    }

    private static string Ellipsize(string text, SKFont font, float maxWidth)
    {
        if (font.MeasureText(text) <= maxWidth)
        {
            return text;
        }

        const string ellipsis = "…";
        string suffix = font.ContainsGlyphs(ellipsis) ? ellipsis : "...";
        var runes = text.EnumerateRunes().ToList();
        for (int n = runes.Count - 1; n > 0; n--)
        {
            string candidate = string.Concat(runes.Take(n).Select(r => r.ToString())).TrimEnd() + suffix;
            if (font.MeasureText(candidate) <= maxWidth)
            {
                return candidate;
            }
        }

        return suffix;
    }
}

