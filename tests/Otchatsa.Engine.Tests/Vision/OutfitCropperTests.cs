using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Tests.Vision;

public sealed class OutfitCropperTests
{
    private static readonly SKColor Red = new(220, 20, 20);
    private static readonly SKColor Blue = new(20, 20, 220);

    /// <summary>400×200: left half red, right half blue; a 100×200 "person" box over x 150..250.</summary>
    private static SKBitmap TwoColourImage()
    {
        var image = new SKBitmap(new SKImageInfo(400, 200, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(image);
        using var red = new SKPaint { Color = Red };
        using var blue = new SKPaint { Color = Blue };
        canvas.DrawRect(0, 0, 200, 200, red);
        canvas.DrawRect(200, 0, 200, 200, blue);
        return image;
    }

    /// <summary>Person probability 1 on the left half of the image (stretched mask), 0 on the right.</summary>
    private static PersonDetection LeftHalfPerson()
    {
        const int n = PersonSegmenter.Size;
        var p = new float[n * n];
        for (var y = 0; y < n; y++)
        {
            for (var x = 0; x < n / 2; x++)
            {
                p[y * n + x] = 1f;
            }
        }
        return new PersonDetection(true, new SKRectI(150, 0, 250, 200), 0.5f, new PersonMask(n, n, p));
    }

    private static void AssertColour(SKColor expected, SKColor actual, int tolerance = 2)
    {
        Assert.True(Math.Abs(expected.Red - actual.Red) <= tolerance && Math.Abs(expected.Green - actual.Green) <= tolerance &&
                    Math.Abs(expected.Blue - actual.Blue) <= tolerance, $"expected {expected}, got {actual}");
    }

    [Fact]
    public void The_whole_view_is_the_photo_centred_on_a_black_square()
    {
        using var image = TwoColourImage();
        using var whole = OutfitCropper.Render(image, LeftHalfPerson(), OutfitView.Whole);

        Assert.Equal((224, 224), (whole.Width, whole.Height));
        Assert.Equal(SKColorType.Rgba8888, whole.ColorType);
        // 400×200 centred in a 400² square: rows 100..300 of 400, i.e. rows 56..168 of 224, hold the photo.
        AssertColour(SKColors.Black, whole.GetPixel(112, 20));
        AssertColour(SKColors.Black, whole.GetPixel(112, 200));
        AssertColour(Red, whole.GetPixel(50, 112));
        AssertColour(Blue, whole.GetPixel(170, 112));
        AssertColour(Red, whole.GetPixel(5, 60));
    }

    [Fact]
    public void The_crop_view_is_the_person_box_padded_black_at_the_sides()
    {
        using var image = TwoColourImage();
        using var crop = OutfitCropper.Render(image, LeftHalfPerson(), OutfitView.Crop);

        Assert.Equal((224, 224), (crop.Width, crop.Height));
        // The 100×200 box sits in a 200² square: columns 56..168 hold the box, its left half red, right half blue.
        AssertColour(SKColors.Black, crop.GetPixel(20, 112));
        AssertColour(SKColors.Black, crop.GetPixel(200, 112));
        AssertColour(Red, crop.GetPixel(80, 10));
        AssertColour(Blue, crop.GetPixel(140, 210));
    }

    [Fact]
    public void The_neutral_crop_greys_what_is_outside_the_mask_and_keeps_the_padding_black()
    {
        using var image = TwoColourImage();
        using var neutral = OutfitCropper.Render(image, LeftHalfPerson(), OutfitView.CropNeutral);

        Assert.Equal((224, 224), (neutral.Width, neutral.Height));
        AssertColour(SKColors.Black, neutral.GetPixel(20, 112));
        AssertColour(SKColors.Black, neutral.GetPixel(200, 112));
        AssertColour(Red, neutral.GetPixel(80, 112), tolerance: 0);
        AssertColour(OutfitCropper.NeutralGrey, neutral.GetPixel(140, 112), tolerance: 0);
    }

    /// <summary>400×200: a green top 80 rows, a yellow bottom 80 rows and a magenta band at the waist in between.</summary>
    private static SKBitmap ThreeBandImage()
    {
        var image = new SKBitmap(new SKImageInfo(400, 200, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using var canvas = new SKCanvas(image);
        using var green = new SKPaint { Color = new SKColor(20, 200, 20) };
        using var magenta = new SKPaint { Color = new SKColor(200, 20, 200) };
        using var yellow = new SKPaint { Color = new SKColor(220, 220, 20) };
        canvas.DrawRect(0, 0, 400, 80, green);
        canvas.DrawRect(0, 80, 400, 40, magenta);
        canvas.DrawRect(0, 120, 400, 80, yellow);
        return image;
    }

    [Fact]
    public void The_halves_are_the_top_and_bottom_of_the_person_box_overlapping_at_the_waist()
    {
        using var image = ThreeBandImage();
        var person = LeftHalfPerson(); // box x 150..250, y 0..200
        using var upper = OutfitCropper.Render(image, person, OutfitView.Upper);
        using var lower = OutfitCropper.Render(image, person, OutfitView.Lower);

        // Each half is 100×110 of the box (55 %): y 0..110 and 90..200, in a 110² square, padded black at the sides.
        Assert.Equal((224, 224), (upper.Width, upper.Height));
        AssertColour(SKColors.Black, upper.GetPixel(3, 112));
        AssertColour(SKColors.Black, lower.GetPixel(220, 112));
        AssertColour(new SKColor(20, 200, 20), upper.GetPixel(112, 10));
        AssertColour(new SKColor(200, 20, 200), upper.GetPixel(112, 215)); // the waist band ends the upper half…
        AssertColour(new SKColor(200, 20, 200), lower.GetPixel(112, 10)); // …and starts the lower one
        AssertColour(new SKColor(220, 220, 20), lower.GetPixel(112, 215));
        Assert.Equal(new SKRectI(150, 0, 250, 110), OutfitCropper.Half(person.Box, upper: true));
        Assert.Equal(new SKRectI(150, 90, 250, 200), OutfitCropper.Half(person.Box, upper: false));
    }

    [Theory]
    [InlineData(OutfitView.CropPlusWhole)]
    [InlineData(OutfitView.CropWholeHalves)]
    public void A_composite_view_is_refused_because_it_is_several_pictures(OutfitView view)
    {
        using var image = TwoColourImage();
        Assert.Throws<ArgumentException>(() => OutfitCropper.Render(image, LeftHalfPerson(), view));
    }

    [Fact]
    public void The_default_view_is_four_pictures_and_every_view_name_round_trips()
    {
        Assert.Equal([OutfitView.Crop, OutfitView.Whole, OutfitView.Upper, OutfitView.Lower],
            OutfitViews.PicturesOf(Otchatsa.Pipeline.EmbeddingSettings.Default.View));
        Assert.Equal(4 * ResNetEmbedder.Dimensions, Otchatsa.Pipeline.EmbeddingSettings.Default.Dimensions);
        Assert.Equal("crop+whole+halves/flip", Otchatsa.Pipeline.EmbeddingSettings.Default.Name);
        foreach (var name in new[] { "upper", "lower/flip", "crop+whole+halves", "crop+whole/flip", "whole" })
        {
            Assert.Equal(name, Otchatsa.Pipeline.EmbeddingSettings.Parse(name).Name);
        }
    }

    [Fact]
    public void A_non_rgba_photo_is_converted_rather_than_rejected()
    {
        using var grey = new SKBitmap(new SKImageInfo(300, 100, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.Erase(new SKColor(90, 90, 90));
        using var segmenter = new PersonSegmenter();

        var detection = segmenter.Detect(grey);
        using var whole = OutfitCropper.Render(grey, detection, OutfitView.Whole);

        Assert.False(detection.Found);
        AssertColour(new SKColor(90, 90, 90), whole.GetPixel(112, 112));
        AssertColour(SKColors.Black, whole.GetPixel(112, 10));
    }
}
