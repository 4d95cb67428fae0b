using SkiaSharp;

namespace Otchatsa.Imaging;

/// <summary>Small JPEG thumbnails kept in the catalog so replies never re-read the originals.</summary>
public static class Thumbnails
{
    public static byte[] Jpeg(SKBitmap image, int maxSide, int quality = 85)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(image.Width, image.Height));
        var info = new SKImageInfo(
            Math.Max(1, (int)Math.Round(image.Width * scale)),
            Math.Max(1, (int)Math.Round(image.Height * scale)),
            SKColorType.Rgba8888,
            SKAlphaType.Opaque);
        using var resized = image.Resize(info, new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var data = resized.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }
}
