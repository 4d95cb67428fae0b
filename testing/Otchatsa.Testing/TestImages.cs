using SkiaSharp;

namespace Otchatsa.Tests;

/// <summary>Pictures made in code for tests.</summary>
public static class TestImages
{
    public static SKBitmap Solid(int width, int height, SKColor color)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bitmap.Erase(color);
        return bitmap;
    }

    public static SKBitmap Noise(int width, int height, int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < pixels.Length; i += 4)
        {
            pixels[i] = (byte)random.Next(256);
            pixels[i + 1] = (byte)random.Next(256);
            pixels[i + 2] = (byte)random.Next(256);
            pixels[i + 3] = 255;
        }
        return bitmap;
    }

    public static SKBitmap Mirror(SKBitmap source)
    {
        var mirrored = new SKBitmap(source.Info);
        var from = source.GetPixelSpan();
        var to = mirrored.GetPixelSpan();
        for (var y = 0; y < source.Height; y++)
        {
            for (var x = 0; x < source.Width; x++)
            {
                from.Slice(y * source.RowBytes + x * 4, 4).CopyTo(to.Slice(y * source.RowBytes + (source.Width - 1 - x) * 4, 4));
            }
        }
        return mirrored;
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg, int quality = 90)
    {
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }
}
