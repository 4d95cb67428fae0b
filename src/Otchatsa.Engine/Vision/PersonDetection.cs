using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>
/// Where the person is in a photo. <see cref="Box"/> is in pixels of the decoded (EXIF-oriented) image;
/// when no person is found it is the whole image. <see cref="Coverage"/> is the share of the image the person mask covers.
/// </summary>
public sealed record PersonDetection(bool Found, SKRectI Box, float Coverage, PersonMask Mask);

/// <summary>Person probability per pixel at the segmenter's resolution, stretched over the whole image.</summary>
public sealed record PersonMask(int Width, int Height, float[] Probabilities)
{
    public float At(int x, int y) => Probabilities[y * Width + x];
}

/// <summary>Which picture of the outfit the embedding is computed from.</summary>
public enum OutfitView
{
    /// <summary>The whole photo, square zero-padded.</summary>
    Whole,
    /// <summary>The person box plus a margin, square zero-padded.</summary>
    Crop,
    /// <summary>The person crop with every pixel outside the person mask set to a neutral grey.</summary>
    CropNeutral,
    /// <summary>Crop and whole photo, embedded separately and concatenated.</summary>
    CropPlusWhole,
    /// <summary>The upper <see cref="OutfitCropper.HalfShare"/> of the person box (the top garment, at about twice the crop's detail), square zero-padded.</summary>
    Upper,
    /// <summary>The lower <see cref="OutfitCropper.HalfShare"/> of the person box (the bottom garment and shoes).</summary>
    Lower,
    /// <summary>Crop, whole photo, upper and lower half, embedded separately and concatenated.</summary>
    CropWholeHalves,
}

/// <summary>The single pictures a view is made of.</summary>
public static class OutfitViews
{
    /// <summary>
    /// The pictures <paramref name="view"/> concatenates, in order (one for a single picture). The engine, the
    /// embedding cache and the benchmark go through this, so a new composite view is one line here (the int8
    /// calibration and the embedder's training pixels use crop and whole on purpose).
    /// </summary>
    public static IReadOnlyList<OutfitView> PicturesOf(OutfitView view) => view switch
    {
        OutfitView.CropPlusWhole => [OutfitView.Crop, OutfitView.Whole],
        OutfitView.CropWholeHalves => [OutfitView.Crop, OutfitView.Whole, OutfitView.Upper, OutfitView.Lower],
        _ => [view],
    };
}
