using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>
/// Pastes the person of one photo onto the background of another, for evaluation queries that do not carry the mall's
/// studio backdrop (DESIGN.md, "Backgrounds"). The other photo's own person is erased first — filled with a heavy blur
/// of its surroundings — so the query still shows exactly one person.
/// </summary>
public static class BackgroundSwap
{
    /// <summary>Mask probability above which a background pixel counts as the other photo's person (generous, to erase edges too).</summary>
    private const float EraseAbove = 0.2f;

    /// <summary>A new opaque Rgba8888 bitmap the size of <paramref name="person"/> (the caller owns it).</summary>
    public static SKBitmap Compose(SKBitmap person, PersonMask personMask, SKBitmap background, PersonMask backgroundMask)
    {
        var width = person.Width;
        var height = person.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        // Stretching keeps the mask mapping trivial (masks are stretched over the whole image too); the distortion of a
        // backdrop does not matter here.
        using var bg = background.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
                       ?? throw new InvalidOperationException("Cannot resize the background.");
        using var fg = person.ColorType == SKColorType.Rgba8888 ? null : OutfitCropper.ToRgba(person);
        var fgPixels = (fg ?? person).GetPixelSpan();
        var fgRow = (fg ?? person).RowBytes;

        var bgPixels = bg.GetPixelSpan().ToArray();
        var erase = new bool[width * height];
        long r = 0, g = 0, b = 0, kept = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = y * bg.RowBytes + x * 4;
                if (MaskAt(backgroundMask, x, y, width, height) > EraseAbove)
                {
                    erase[y * width + x] = true;
                    continue;
                }
                r += bgPixels[o];
                g += bgPixels[o + 1];
                b += bgPixels[o + 2];
                kept++;
            }
        }
        kept = Math.Max(1, kept);
        var mean = new SKColor((byte)(r / kept), (byte)(g / kept), (byte)(b / kept));
        using var filled = new SKBitmap(info);
        var filledPixels = filled.GetPixelSpan();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = y * bg.RowBytes + x * 4;
                var f = y * filled.RowBytes + x * 4;
                var gone = erase[y * width + x];
                filledPixels[f] = gone ? mean.Red : bgPixels[o];
                filledPixels[f + 1] = gone ? mean.Green : bgPixels[o + 1];
                filledPixels[f + 2] = gone ? mean.Blue : bgPixels[o + 2];
                filledPixels[f + 3] = 255;
            }
        }
        filled.NotifyPixelsChanged();
        using var blurred = Blur(filled, Math.Max(width, height) / 12f);
        var blurPixels = blurred.GetPixelSpan();

        var result = new SKBitmap(info);
        var output = result.GetPixelSpan();
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var o = y * result.RowBytes + x * 4;
                var bo = y * bg.RowBytes + x * 4;
                var blo = y * blurred.RowBytes + x * 4;
                var fo = y * fgRow + x * 4;
                var alpha = Math.Clamp(MaskAt(personMask, x, y, width, height), 0f, 1f);
                var gone = erase[y * width + x];
                for (var c = 0; c < 3; c++)
                {
                    float back = gone ? blurPixels[blo + c] : bgPixels[bo + c];
                    output[o + c] = (byte)Math.Clamp(alpha * fgPixels[fo + c] + (1 - alpha) * back + 0.5f, 0, 255);
                }
                output[o + 3] = 255;
            }
        }
        result.NotifyPixelsChanged();
        return result;
    }

    private static float MaskAt(PersonMask mask, int x, int y, int width, int height) =>
        OutfitCropper.SampleBilinear(mask, (x + 0.5f) * mask.Width / width - 0.5f, (y + 0.5f) * mask.Height / height - 0.5f);

    private static SKBitmap Blur(SKBitmap source, float sigma)
    {
        var result = new SKBitmap(source.Info);
        using var canvas = new SKCanvas(result);
        using var paint = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(sigma, sigma, SKShaderTileMode.Clamp) };
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear), paint);
        canvas.Flush();
        return result;
    }
}
