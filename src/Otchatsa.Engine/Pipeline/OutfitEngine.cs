using System.Diagnostics;
using Otchatsa.Imaging;
using Otchatsa.Numerics;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Pipeline;

/// <summary>What the engine learned from one photo before any catalog is consulted.</summary>
public sealed record OutfitAnalysis(
    int Width,
    int Height,
    string Format,
    PersonDetection Person,
    SKRectI PersonBoxOriginal,
    float[] Embedding,
    StageTimings Timings);

/// <summary>Milliseconds spent per pipeline stage.</summary>
public sealed record StageTimings(double Decode, double Segment, double Embed)
{
    public double Total => Decode + Segment + Embed;
}

/// <summary>Engine settings that change the embedding, and so must match between an index and its queries.</summary>
public sealed record EmbeddingSettings(OutfitView View = OutfitView.Crop, bool FlipAverage = false)
{
    /// <summary>
    /// The product's view: person crop, whole photo and the person's upper and lower half, each averaged with its
    /// mirror image, concatenated. Chosen by <c>otchatsa eval --folds 5</c> on both K-Fashion samples
    /// (docs/evaluation.md): crop+whole is the best of the single and paired views for style both in-studio and on other
    /// backgrounds; flip averaging adds about 3 points of mall recall; the halves (the garments at about twice the
    /// crop's detail) add 1.4 points of 3-style top-1, 4 of 23-style top-3 and 4 of item precision, for four more
    /// network inputs (about 1.4 times the time per photo).
    /// </summary>
    public static EmbeddingSettings Default { get; } = new(OutfitView.CropWholeHalves, FlipAverage: true);

    public int Dimensions => OutfitViews.PicturesOf(View).Count * ResNetEmbedder.Dimensions;

    /// <summary>Every view by its stable name; <see cref="Name"/> and <see cref="Parse"/> both read this one table.</summary>
    private static readonly (OutfitView View, string Name)[] ViewNames =
    [
        (OutfitView.Whole, "whole"), (OutfitView.Crop, "crop"), (OutfitView.CropNeutral, "crop-neutral"),
        (OutfitView.Upper, "upper"), (OutfitView.Lower, "lower"),
        (OutfitView.CropPlusWhole, "crop+whole"), (OutfitView.CropWholeHalves, "crop+whole+halves"),
    ];

    /// <summary>The stable name of a view without its flip suffix, e.g. <c>crop</c> or <c>crop+whole</c>.</summary>
    public static string NameOf(OutfitView view) =>
        ViewNames.FirstOrDefault(v => v.View == view).Name ?? throw new ArgumentOutOfRangeException(nameof(view), view, null);

    /// <summary>A stable name written into index.json, e.g. <c>crop</c> or <c>crop+whole/flip</c>.</summary>
    public string Name => NameOf(View) + (FlipAverage ? "/flip" : "");

    public static EmbeddingSettings Parse(string name)
    {
        var flip = name.EndsWith("/flip", StringComparison.OrdinalIgnoreCase);
        var bare = (flip ? name[..^5] : name).ToLowerInvariant();
        var match = ViewNames.Where(v => v.Name == bare).Select(v => (OutfitView?)v.View).FirstOrDefault()
            ?? throw new ArgumentException(
                $"Unknown view '{name}': use {string.Join(", ", ViewNames.Select(v => v.Name))} (optionally with /flip).");
        return new EmbeddingSettings(match, flip);
    }
}

/// <summary>
/// Photo bytes → decoded image → person → view → embedding. Owns one session per model; thread-safe, so one engine
/// serves every worker of a process.
/// </summary>
public sealed class OutfitEngine : IDisposable
{
    private readonly PersonSegmenter _segmenter;
    private readonly ResNetEmbedder _embedder;

    public OutfitEngine(ModelPaths models, EmbeddingSettings? settings = null, ImageLimits? limits = null)
    {
        Models = models;
        Settings = settings ?? EmbeddingSettings.Default;
        Limits = limits ?? ImageLimits.Default;
        _segmenter = new PersonSegmenter(models.Segmenter);
        _embedder = ResNetEmbedder.Open(models, models.LoadInt8Card());
    }

    public ModelPaths Models { get; }
    public EmbeddingSettings Settings { get; }
    public ImageLimits Limits { get; }
    public ResNetEmbedder Embedder => _embedder;
    public PersonSegmenter Segmenter => _segmenter;

    /// <summary>Analyses one photo; throws <see cref="ImageRejectedException"/> for input that is not a usable image.</summary>
    public OutfitAnalysis Analyze(byte[] photo)
    {
        var clock = Stopwatch.StartNew();
        using var decoded = ImageDecoder.Decode(photo, Limits);
        var decodeMs = clock.Elapsed.TotalMilliseconds;
        return Analyze(decoded, decodeMs);
    }

    /// <summary>Analyses an already decoded photo (the caller keeps ownership).</summary>
    public OutfitAnalysis Analyze(DecodedImage decoded, double decodeMs = 0)
    {
        // "segment" covers finding the person and rendering the 224×224 view(s) and mirrors; "embed" is the network
        // alone (one batch of all of them) plus its input tensor, so the benchmark can set it against the bare cost.
        var clock = Stopwatch.StartNew();
        var person = _segmenter.Detect(decoded.Bitmap);
        var views = RenderInputs(decoded.Bitmap, person);
        var segmentMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        float[] embedding;
        try
        {
            embedding = EmbedInputs(views);
        }
        finally
        {
            foreach (var view in views)
            {
                view.Dispose();
            }
        }
        var embedMs = clock.Elapsed.TotalMilliseconds;
        return new OutfitAnalysis(
            decoded.OriginalWidth,
            decoded.OriginalHeight,
            decoded.Format,
            person,
            ScaleBox(person.Box, decoded),
            embedding,
            new StageTimings(decodeMs, segmentMs, embedMs));
    }

    /// <summary>Embeds the configured view of an image whose person was already found.</summary>
    public float[] Embed(SKBitmap image, PersonDetection person)
    {
        var views = RenderInputs(image, person);
        try
        {
            return EmbedInputs(views);
        }
        finally
        {
            foreach (var view in views)
            {
                view.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _segmenter.Dispose();
        _embedder.Dispose();
    }

    /// <summary>Network inputs per photo: one per view, twice that with flip averaging.</summary>
    public int InputsPerPhoto => OutfitViews.PicturesOf(Settings.View).Count * (Settings.FlipAverage ? 2 : 1);

    /// <summary>
    /// The network inputs of a photo whose person was found, in the order <see cref="Combine"/> expects: the views,
    /// then (with flip averaging) their mirrors. The caller disposes them.
    /// </summary>
    public SKBitmap[] RenderInputs(SKBitmap image, PersonDetection person)
    {
        var views = RenderViews(image, person);
        return Settings.FlipAverage ? [.. views, .. views.Select(ResNetEmbedder.Mirror)] : views;
    }

    /// <summary>A photo's vector from the embeddings of its <see cref="RenderInputs"/> (flip averaging, concatenation).</summary>
    public float[] Combine(IReadOnlyList<float[]> inputs)
    {
        var views = Settings.FlipAverage ? inputs.Count / 2 : inputs.Count;
        var parts = Enumerable.Range(0, views)
            .Select(i => Settings.FlipAverage ? ResNetEmbedder.FlipAverage(inputs[i], inputs[views + i]) : inputs[i])
            .ToArray();
        return parts.Length == 1 ? parts[0] : VectorMath.Concat(parts);
    }

    private SKBitmap[] RenderViews(SKBitmap image, PersonDetection person) =>
        [.. OutfitViews.PicturesOf(Settings.View).Select(view => OutfitCropper.Render(image, person, view))];

    /// <summary>Every input of the photo (views and mirrors) goes through the network as one batch.</summary>
    private float[] EmbedInputs(SKBitmap[] inputs) => Combine(_embedder.EmbedBatch(inputs));

    private static SKRectI ScaleBox(SKRectI box, DecodedImage decoded)
    {
        if (decoded.Bitmap.Width == decoded.OriginalWidth && decoded.Bitmap.Height == decoded.OriginalHeight)
        {
            return box;
        }
        var sx = (double)decoded.OriginalWidth / decoded.Bitmap.Width;
        var sy = (double)decoded.OriginalHeight / decoded.Bitmap.Height;
        return new SKRectI(
            (int)Math.Floor(box.Left * sx),
            (int)Math.Floor(box.Top * sy),
            Math.Min(decoded.OriginalWidth, (int)Math.Ceiling(box.Right * sx)),
            Math.Min(decoded.OriginalHeight, (int)Math.Ceiling(box.Bottom * sy)));
    }
}
