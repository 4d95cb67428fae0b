using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;
using SkiaSharp;
using Xunit.Abstractions;

namespace Otchatsa.Tests.Recommendations;

/// <summary>
/// "Not an outfit": photos with nothing like the K-Fashion outfits the head was trained on (the demo's Fashion-MNIST
/// product shots, generated scenes) are answered as such, with items still offered and no person box; real outfits
/// are not. Uses the committed head and the demo index.
/// </summary>
public sealed class NotAnOutfitTests(ITestOutputHelper output)
{
    /// <summary>Scenes drawn in code: a landscape, a text screenshot, a cat-like figure, flat colours, noise.</summary>
    internal static IEnumerable<(string Name, byte[] Jpeg)> GeneratedScenes()
    {
        for (var seed = 0; seed < 4; seed++)
        {
            yield return ($"landscape-{seed}", Draw(480, 320, canvas => Landscape(canvas, seed)));
            yield return ($"text-{seed}", Draw(400, 560, canvas => TextScreenshot(canvas, seed)));
            yield return ($"cat-{seed}", Draw(400, 400, canvas => Cat(canvas, seed)));
            yield return ($"noise-{seed}", TestImages.Encode(TestImages.Noise(256, 256, seed)));
        }
        foreach (var colour in new[] { SKColors.White, SKColors.Black, SKColors.SkyBlue, SKColors.OrangeRed })
        {
            yield return ($"solid-{colour}", TestImages.Encode(TestImages.Solid(300, 300, colour)));
        }
    }

    [Fact]
    public void Fashion_mnist_items_and_generated_scenes_are_mostly_not_outfits_and_never_get_a_person_box()
    {
        var recommender = DemoIndex.Runtime.Recommender;
        Assert.NotNull((recommender.Classifier as IStyleHeadInfo)?.OutfitThreshold);
        var demoDir = Path.GetDirectoryName(DemoIndex.Manifest)!;
        var items = File.ReadLines(DemoIndex.Manifest).Skip(1).Take(60)
            .Select(line => line.Split(',')[0])
            .Select(image => (Name: image, Bytes: File.ReadAllBytes(Path.Combine(demoDir, image))))
            .ToArray();
        var scenes = GeneratedScenes().ToArray();

        var (itemsFlagged, itemsConfident) = Measure(recommender, items);
        var (scenesFlagged, scenesConfident) = Measure(recommender, scenes);
        output.WriteLine($"Fashion-MNIST items: {itemsFlagged}/{items.Length} not an outfit, {itemsConfident} confident style answers");
        output.WriteLine($"generated scenes: {scenesFlagged}/{scenes.Length} not an outfit, {scenesConfident} confident style answers");

        Assert.True(itemsFlagged >= 0.8 * items.Length, $"{itemsFlagged} of {items.Length} Fashion-MNIST items flagged");
        Assert.True(scenesFlagged >= 0.8 * scenes.Length, $"{scenesFlagged} of {scenes.Length} scenes flagged");
        Assert.Equal(0, itemsConfident + scenesConfident);
    }

    [Fact]
    public void A_photo_that_is_not_an_outfit_names_no_style_still_offers_items_and_claims_no_person()
    {
        var recommender = DemoIndex.Runtime.Recommender;
        var (_, photo) = GeneratedScenes().First(s => s.Name == "text-0");

        foreach (var strategy in new[] { Strategies.Create("blend"), Strategies.Create("seed") })
        {
            var result = recommender.Recommend(photo, strategy);
            var json = RecommendJson.From("text.jpg", result);

            Assert.True(result.Recommendation.NotAnOutfit);
            Assert.Null(result.Recommendation.Style);
            Assert.Empty(result.Recommendation.TopStyles);
            Assert.NotEmpty(result.Recommendation.Malls.SelectMany(m => m.Items));
            Assert.False(json.Person!.Found);
            Assert.Null(json.Style);
        }
    }

    /// <summary>Real outfits (K-Fashion, both samples): the share wrongly called "not an outfit" by the committed head.</summary>
    [SkippableFact]
    public void Real_outfits_are_rarely_called_not_an_outfit()
    {
        Skip.If(TestPaths.KFashion is null, TestPaths.KFashionMissing);
        var head = StyleClassifiersFor();
        var photos = Directory.GetFiles(Path.Combine(TestPaths.KFashion!, "images"), "*.jpg").Order(StringComparer.Ordinal)
            .Where((_, i) => i % 15 == 0).Take(100).ToArray();
        var engine = DemoIndex.Runtime.Engine;
        var flagged = photos.Count(p =>
        {
            var analysis = engine.Analyze(File.ReadAllBytes(p));
            return !OutfitRecommender.OutfitVerdict(head, analysis.Person.Found, analysis.Embedding);
        });
        output.WriteLine($"K-Fashion: {flagged}/{photos.Length} called not an outfit");
        Assert.True(flagged <= 0.03 * photos.Length, $"{flagged} of {photos.Length} real outfits called not an outfit");
    }

    private static IStyleHeadInfo StyleClassifiersFor() => (IStyleHeadInfo)DemoIndex.Runtime.Recommender.Classifier;

    private static (int Flagged, int Confident) Measure(OutfitRecommender recommender, IReadOnlyList<(string Name, byte[] Bytes)> photos)
    {
        int flagged = 0, confident = 0;
        foreach (var (_, bytes) in photos)
        {
            var rec = recommender.Recommend(bytes, Strategies.Create(null)).Recommendation;
            flagged += rec.NotAnOutfit ? 1 : 0;
            confident += !rec.NotAnOutfit && !rec.Unsure ? 1 : 0;
        }
        return (flagged, confident);
    }

    private static byte[] Draw(int width, int height, Action<SKCanvas> paint)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            paint(canvas);
        }
        return TestImages.Encode(bitmap);
    }

    private static void Landscape(SKCanvas canvas, int seed)
    {
        var random = new Random(seed);
        var (w, h) = (canvas.DeviceClipBounds.Width, canvas.DeviceClipBounds.Height);
        using var sky = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, h), [new SKColor(70, 130, 220), new SKColor(200, 225, 250)], SKShaderTileMode.Clamp) };
        canvas.DrawRect(0, 0, w, h, sky);
        using var sun = new SKPaint { Color = new SKColor(255, 220, 90), IsAntialias = true };
        canvas.DrawCircle(random.Next(w), h * 0.2f, 30, sun);
        using var hill = new SKPaint { Color = new SKColor((byte)random.Next(30, 90), (byte)random.Next(120, 170), 60), IsAntialias = true };
        // Rolling hills: large overlapping discs whose tops form the horizon.
        for (var x = -60; x <= w + 60; x += 90)
        {
            canvas.DrawCircle(x, h * (0.95f + 0.15f * (float)random.NextDouble()), h * 0.45f, hill);
        }
    }

    private static void TextScreenshot(SKCanvas canvas, int seed)
    {
        var random = new Random(seed);
        canvas.Clear(SKColors.White);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var font = new SKFont(SKTypeface.Default, 16);
        for (var y = 30; y < canvas.DeviceClipBounds.Height - 20; y += 24)
        {
            var words = string.Join(" ", Enumerable.Range(0, 6).Select(_ => new string('a', random.Next(2, 9)).Replace('a', (char)('a' + random.Next(26)))));
            canvas.DrawText(words, 20, y, SKTextAlign.Left, font, ink);
            // Glyph-like bars too, so the picture is text-like even where the default typeface has no glyphs.
            canvas.DrawRect(20, y + 4, random.Next(120, 340), 3, ink);
        }
    }

    private static void Cat(SKCanvas canvas, int seed)
    {
        var random = new Random(seed);
        canvas.Clear(new SKColor(190, 160, 120));
        using var fur = new SKPaint { Color = new SKColor((byte)random.Next(60, 200), (byte)random.Next(60, 150), 60), IsAntialias = true };
        canvas.DrawOval(200, 270, 120, 70, fur);
        canvas.DrawCircle(110, 190, 55, fur);
        canvas.DrawOval(78, 130, 14, 28, fur);
        canvas.DrawOval(142, 130, 14, 28, fur);
        using var eye = new SKPaint { Color = SKColors.LightGreen, IsAntialias = true };
        canvas.DrawCircle(92, 185, 8, eye);
        canvas.DrawCircle(128, 185, 8, eye);
    }
}
