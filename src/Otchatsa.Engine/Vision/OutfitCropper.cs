using Otchatsa.Imaging;
using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>
/// Builds the 224×224 picture the embedding model sees for an <see cref="OutfitView"/>: the region (whole image or
/// person box) is centred on a black square — zero padding keeps the aspect ratio, as in the seed project — and resized.
/// </summary>
public static class OutfitCropper
{
    /// <summary>Side of the produced square.</summary>
    public const int Size = 224;

    /// <summary>
    /// The share of the person box's height that <see cref="OutfitView.Upper"/> and <see cref="OutfitView.Lower"/> take
    /// (from its top, from its bottom); they overlap by a tenth at the waist, so a garment cut there is in both.
    /// </summary>
    public const float HalfShare = 0.55f;

    /// <summary>What replaces the background in <see cref="OutfitView.CropNeutral"/>.</summary>
    public static readonly SKColor NeutralGrey = new(128, 128, 128);

    /// <summary>
    /// Renders <paramref name="view"/> as a new opaque Rgba8888 224×224 bitmap owned by the caller.
    /// A composite view (<see cref="OutfitView.CropPlusWhole"/>, <see cref="OutfitView.CropWholeHalves"/>) is several
    /// pictures, so the caller renders each of <see cref="OutfitViews.PicturesOf"/> itself; asking for it here throws
    /// <see cref="ArgumentException"/>.
    /// </summary>
    public static SKBitmap Render(SKBitmap image, PersonDetection detection, OutfitView view)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(detection);
        return view switch
        {
            OutfitView.Whole => Square(image, new SKRectI(0, 0, image.Width, image.Height), null),
            OutfitView.Crop => Square(image, Clamp(detection.Box, image), null),
            OutfitView.CropNeutral => Square(image, Clamp(detection.Box, image), detection.Mask),
            OutfitView.Upper => Square(image, Half(Clamp(detection.Box, image), upper: true), null),
            OutfitView.Lower => Square(image, Half(Clamp(detection.Box, image), upper: false), null),
            OutfitView.CropPlusWhole or OutfitView.CropWholeHalves => throw new ArgumentException(
                $"{view} is several pictures: render each of OutfitViews.PicturesOf separately and concatenate their embeddings.", nameof(view)),
            _ => throw new ArgumentOutOfRangeException(nameof(view), view, null),
        };
    }

    private static SKRectI Clamp(SKRectI box, SKBitmap image)
    {
        var r = SKRectI.Intersect(box, new SKRectI(0, 0, image.Width, image.Height));
        // A degenerate box (should not come from PersonSegmenter) falls back to the whole image instead of a 0-pixel crop.
        return r.Width > 0 && r.Height > 0 ? r : new SKRectI(0, 0, image.Width, image.Height);
    }

    /// <summary>The top (or bottom) <see cref="HalfShare"/> of a box, at least one pixel high.</summary>
    internal static SKRectI Half(SKRectI box, bool upper)
    {
        var height = Math.Max(1, (int)Math.Round(box.Height * HalfShare));
        return upper
            ? new SKRectI(box.Left, box.Top, box.Right, box.Top + height)
            : new SKRectI(box.Left, box.Bottom - height, box.Right, box.Bottom);
    }

    private static SKBitmap Square(SKBitmap image, SKRectI region, PersonMask? neutralOutside)
    {
        var side = Math.Max(region.Width, region.Height);
        var scale = (float)Size / side;
        var dest = SKRect.Create(
            (side - region.Width) / 2f * scale,
            (side - region.Height) / 2f * scale,
            region.Width * scale,
            region.Height * scale);

        var result = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        // The region is shrunk by area averaging to its exact size in the square, then placed on the black padding.
        result.Erase(SKColors.Black);
        using (var pixmap = image.PeekPixels())
        using (var subset = pixmap.ExtractSubset(region)
                            ?? throw new InvalidOperationException($"Region {region} is outside the image."))
        using (var scaled = Resampling.Resize(subset,
                   Math.Clamp((int)Math.Round(dest.Width), 1, Size), Math.Clamp((int)Math.Round(dest.Height), 1, Size)))
        {
            var left = Math.Min((int)Math.Round(dest.Left), Size - scaled.Width);
            var top = Math.Min((int)Math.Round(dest.Top), Size - scaled.Height);
            var from = scaled.GetPixelSpan();
            var to = result.GetPixelSpan();
            for (var y = 0; y < scaled.Height; y++)
            {
                from.Slice(y * scaled.RowBytes, scaled.Width * 4).CopyTo(to.Slice((top + y) * result.RowBytes + left * 4));
            }
            result.NotifyPixelsChanged();
        }
        if (neutralOutside is not null)
        {
            Neutralise(result, neutralOutside, image.Width, image.Height, region, dest, scale);
        }
        return result;
    }

    /// <summary>
    /// Greys every output pixel whose source point has mask probability below the threshold. Sampling the mask at the
    /// output resolution (bilinear, at each output pixel's source coordinate) costs 224² look-ups instead of one per photo pixel.
    /// </summary>
    private static unsafe void Neutralise(SKBitmap result, PersonMask mask, int imageWidth, int imageHeight, SKRectI region,
        SKRect dest, float scale)
    {
        var pixels = new Span<byte>((void*)result.GetPixels(), result.ByteCount);
        var rowBytes = result.RowBytes;
        for (var py = 0; py < Size; py++)
        {
            var cy = py + 0.5f;
            if (cy < dest.Top || cy >= dest.Bottom)
            {
                continue; // padding stays black
            }
            var sy = region.Top + (cy - dest.Top) / scale;
            for (var px = 0; px < Size; px++)
            {
                var cx = px + 0.5f;
                if (cx < dest.Left || cx >= dest.Right)
                {
                    continue;
                }
                var sx = region.Left + (cx - dest.Left) / scale;
                if (SampleBilinear(mask, sx * mask.Width / imageWidth - 0.5f, sy * mask.Height / imageHeight - 0.5f) >= PersonSegmenter.Threshold)
                {
                    continue;
                }
                var o = py * rowBytes + px * 4;
                pixels[o] = NeutralGrey.Red;
                pixels[o + 1] = NeutralGrey.Green;
                pixels[o + 2] = NeutralGrey.Blue;
                pixels[o + 3] = 255;
            }
        }
        result.NotifyPixelsChanged();
    }

    /// <summary>Bilinear look-up with cell centres at integer coordinates, clamped at the borders.</summary>
    internal static float SampleBilinear(PersonMask mask, float x, float y)
    {
        x = Math.Clamp(x, 0, mask.Width - 1);
        y = Math.Clamp(y, 0, mask.Height - 1);
        int x0 = (int)x, y0 = (int)y;
        int x1 = Math.Min(x0 + 1, mask.Width - 1), y1 = Math.Min(y0 + 1, mask.Height - 1);
        float fx = x - x0, fy = y - y0;
        var top = mask.At(x0, y0) + (mask.At(x1, y0) - mask.At(x0, y0)) * fx;
        var bottom = mask.At(x0, y1) + (mask.At(x1, y1) - mask.At(x0, y1)) * fx;
        return top + (bottom - top) * fy;
    }

    /// <summary>An Rgba8888 copy of any bitmap, composited over black so transparency cannot leak into the model input.</summary>
    internal static SKBitmap ToRgba(SKBitmap image)
    {
        var copy = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(copy);
        canvas.Clear(SKColors.Black);
        using var source = SKImage.FromBitmap(image);
        canvas.DrawImage(source, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), null);
        canvas.Flush();
        return copy;
    }
}
