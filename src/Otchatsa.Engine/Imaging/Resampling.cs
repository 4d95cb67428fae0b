using SkiaSharp;

namespace Otchatsa.Imaging;

/// <summary>
/// Fast, alias-free shrinking. Skia's mipmapped sampling rebuilds the whole mip chain on every draw of a raster image
/// (about 5 ms for a 512 px photo, paid per view); halving with bilinear filtering until within 2× of the target
/// and finishing with one bilinear pass averages the same source pixels for a fraction of the cost.
/// </summary>
public static class Resampling
{
    private static readonly SKSamplingOptions Linear = new(SKFilterMode.Linear, SKMipmapMode.None);

    /// <summary>A new opaque Rgba8888 bitmap of <paramref name="width"/>×<paramref name="height"/> from <paramref name="source"/>.</summary>
    public static SKBitmap Resize(SKPixmap source, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        SKBitmap? step = null;
        var pixmap = source;
        try
        {
            // Each halving is an exact 2×2 average (bilinear at half-pixel centres), so no source pixel is skipped.
            while (pixmap.Width >= 2 * width || pixmap.Height >= 2 * height)
            {
                var half = Scale(pixmap, Math.Max(width, (pixmap.Width + 1) / 2), Math.Max(height, (pixmap.Height + 1) / 2));
                if (!ReferenceEquals(pixmap, source))
                {
                    pixmap.Dispose();
                }
                step?.Dispose();
                step = half;
                pixmap = half.PeekPixels();
            }
            return Scale(pixmap, width, height);
        }
        finally
        {
            if (!ReferenceEquals(pixmap, source))
            {
                pixmap.Dispose();
            }
            step?.Dispose();
        }
    }

    private static SKBitmap Scale(SKPixmap from, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var target = bitmap.PeekPixels();
        if (!from.ScalePixels(target, Linear))
        {
            bitmap.Dispose();
            throw new InvalidOperationException($"Could not scale a {from.Width}×{from.Height} image to {width}×{height}.");
        }
        return bitmap;
    }
}
