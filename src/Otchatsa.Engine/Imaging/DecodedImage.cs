using SkiaSharp;

namespace Otchatsa.Imaging;

/// <summary>
/// A decoded, upright photo. <see cref="Bitmap"/> is always <see cref="SKColorType.Rgba8888"/> /
/// <see cref="SKAlphaType.Opaque"/> in sRGB (alpha composited on white, every alpha byte 255), already rotated by
/// the EXIF orientation and possibly downscaled; <see cref="OriginalWidth"/> × <see cref="OriginalHeight"/> is the
/// full-resolution size in the same oriented space, which is the space boxes are reported in.
/// </summary>
/// <param name="Bitmap">Pixels to analyse; owned by this record.</param>
/// <param name="OriginalWidth">Width of the full-resolution photo after applying the EXIF orientation.</param>
/// <param name="OriginalHeight">Height of the full-resolution photo after applying the EXIF orientation.</param>
/// <param name="Format">The decoded container: <c>jpeg</c>, <c>png</c>, <c>gif</c>, <c>webp</c>, <c>bmp</c> or <c>ico</c>.</param>
public sealed record DecodedImage(SKBitmap Bitmap, int OriginalWidth, int OriginalHeight, string Format) : IDisposable
{
    /// <summary>Multiply a bitmap x coordinate by this to get original pixels.</summary>
    public double ScaleX => (double)OriginalWidth / Bitmap.Width;

    /// <summary>Multiply a bitmap y coordinate by this to get original pixels.</summary>
    public double ScaleY => (double)OriginalHeight / Bitmap.Height;

    /// <summary>True when <see cref="Bitmap"/> is smaller than the original photo.</summary>
    public bool IsDownscaled => Bitmap.Width != OriginalWidth || Bitmap.Height != OriginalHeight;

    public void Dispose() => Bitmap.Dispose();
}
