using Otchatsa.Catalog;
using Otchatsa.Imaging;
using Otchatsa.Numerics;
using Otchatsa.Pipeline;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Embeddings;

/// <summary>Where the person is in a photo, in pixels of the (EXIF-oriented) file, and how much of it they cover.</summary>
public sealed record PersonRecord(bool Found, SKRectI Box, float Coverage, int Width, int Height)
{
    internal const int Dims = 8;

    internal float[] ToVector() =>
        [Found ? 1 : 0, Box.Left, Box.Top, Box.Right, Box.Bottom, Coverage, Width, Height];

    internal static PersonRecord FromVector(float[] v) =>
        new(v[0] > 0.5f, new SKRectI((int)v[1], (int)v[2], (int)v[3], (int)v[4]), v[5], (int)v[6], (int)v[7]);
}

/// <summary>The cached vectors of one photo: its person record and one embedding per base view (and mirror).</summary>
public sealed class PhotoFeatures
{
    private readonly IReadOnlyDictionary<string, float[]> _units;

    internal PhotoFeatures(byte[] key, PersonRecord person, IReadOnlyDictionary<string, float[]> units)
    {
        Key = key;
        Person = person;
        _units = units;
    }

    /// <summary>The SHA-256 the vectors are cached under.</summary>
    public byte[] Key { get; }

    public PersonRecord Person { get; }

    /// <summary>
    /// The embedding <paramref name="settings"/> describes, assembled exactly as <see cref="OutfitEngine.Embed"/> does
    /// (flip averaging = normalised sum of a view and its mirror; crop+whole = normalised concatenation).
    /// </summary>
    public float[] Vector(EmbeddingSettings settings)
    {
        var parts = OutfitViews.PicturesOf(settings.View).Select(view =>
        {
            var plain = _units[FeatureExtractor.UnitName(view, mirrored: false)];
            if (!settings.FlipAverage)
            {
                return plain;
            }
            var sum = (float[])plain.Clone();
            var mirror = _units[FeatureExtractor.UnitName(view, mirrored: true)];
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += mirror[i];
            }
            VectorMath.Normalize(sum);
            return sum;
        }).ToArray();
        return parts.Length == 1 ? parts[0] : VectorMath.Concat(parts);
    }
}

/// <summary>
/// Computes (or reads from <see cref="EmbeddingCache"/>) the embeddings of photos for any set of
/// <see cref="EmbeddingSettings"/>, so that comparing views, training heads and evaluating folds never embeds the same
/// (image, models, view) twice. Photos whose vectors are all cached are not even decoded.
/// </summary>
public sealed class FeatureExtractor(OutfitEngine engine, EmbeddingCache cache)
{
    // Versioned like the views: r2 segments a 256×256 input shrunk by area averaging (Resampling) instead of mipmaps.
    public const string PersonUnit = "person.r2";
    internal const string SwapRecipe = "background-swap-v1";

    public OutfitEngine Engine { get; } = engine;

    public EmbeddingCache Cache { get; } = cache;

    /// <summary>A cache for <paramref name="engine"/>'s models under <paramref name="root"/> (default: <see cref="EmbeddingCache.DefaultRoot"/>).</summary>
    public static FeatureExtractor Create(OutfitEngine engine, string? root = null) =>
        new(engine, new EmbeddingCache(root ?? EmbeddingCache.DefaultRoot, EmbeddingCache.KeyOf(
            engine.Embedder.ModelId, engine.Embedder.ModelSha256, ModelHashes.Of(engine.Models.ResNetPreprocess),
            ModelPaths.SegmenterId, ModelHashes.Of(engine.Models.Segmenter))));

    /// <summary>
    /// The cache unit of a view. The suffix is the version of <see cref="OutfitCropper"/>'s rendering of that view:
    /// bump it whenever a change alters the view's pixels, so stale vectors are never reused (r2: crops are resampled
    /// from the region's own pixels, with mipmaps of the region only; r3: every view and the person mask are shrunk by
    /// area averaging in <see cref="Imaging.Resampling"/>, no mipmaps).
    /// </summary>
    internal static string UnitName(OutfitView view, bool mirrored) => view switch
    {
        OutfitView.Crop => "crop.r3",
        OutfitView.Whole => "whole.r3",
        OutfitView.CropNeutral => "crop-neutral.r3",
        OutfitView.Upper => "upper.r1",
        OutfitView.Lower => "lower.r1",
        _ => throw new ArgumentOutOfRangeException(nameof(view)),
    } + (mirrored ? "~mirror" : "");

    private static IEnumerable<(OutfitView View, bool Mirrored)> UnitsOf(IEnumerable<EmbeddingSettings> settings) =>
        settings.SelectMany(s => OutfitViews.PicturesOf(s.View).SelectMany(v => s.FlipAverage
                ? new[] { (v, false), (v, true) }
                : new[] { (v, false) }))
            .Distinct();

    /// <summary>Features of a photo as sent.</summary>
    public PhotoFeatures Extract(byte[] photo, IReadOnlyCollection<EmbeddingSettings> settings)
    {
        var key = EmbeddingCache.ImageKey(photo);
        if (Cached(key, settings) is { } cached)
        {
            return cached;
        }
        using var decoded = ImageDecoder.Decode(photo, Engine.Limits);
        return Compute(key, settings, decoded.Bitmap, decoded.OriginalWidth, decoded.OriginalHeight);
    }

    /// <summary>Features of the photo's person pasted onto <paramref name="background"/>'s backdrop (see <see cref="BackgroundSwap"/>).</summary>
    public PhotoFeatures ExtractOnBackground(byte[] photo, byte[] background, IReadOnlyCollection<EmbeddingSettings> settings)
    {
        var key = EmbeddingCache.DerivedKey(SwapRecipe, EmbeddingCache.ImageKey(photo), EmbeddingCache.ImageKey(background));
        if (Cached(key, settings) is { } cached)
        {
            return cached;
        }
        using var swapped = Swap(photo, background);
        return Compute(key, settings, swapped, swapped.Width, swapped.Height);
    }

    /// <summary>Renders the background-swapped photo (for looking at what evaluation queries look like).</summary>
    public SKBitmap Swap(byte[] photo, byte[] background)
    {
        using var person = ImageDecoder.Decode(photo, Engine.Limits);
        using var backdrop = ImageDecoder.Decode(background, Engine.Limits);
        var personMask = Engine.Segmenter.Segment(person.Bitmap);
        var backdropMask = Engine.Segmenter.Segment(backdrop.Bitmap);
        return BackgroundSwap.Compose(person.Bitmap, personMask, backdrop.Bitmap, backdropMask);
    }

    private PhotoFeatures? Cached(byte[] key, IReadOnlyCollection<EmbeddingSettings> settings)
    {
        if (!Cache.TryGet(PersonUnit, key, PersonRecord.Dims, out var person))
        {
            return null;
        }
        var units = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (view, mirrored) in UnitsOf(settings))
        {
            var name = UnitName(view, mirrored);
            if (!Cache.TryGet(name, key, ResNetEmbedder.Dimensions, out var vector))
            {
                return null;
            }
            units[name] = vector;
        }
        return new PhotoFeatures(key, PersonRecord.FromVector(person), units);
    }

    private PhotoFeatures Compute(
        byte[] key, IReadOnlyCollection<EmbeddingSettings> settings, SKBitmap image, int originalWidth, int originalHeight)
    {
        var detection = Engine.Segmenter.Detect(image);
        var sx = (double)originalWidth / image.Width;
        var sy = (double)originalHeight / image.Height;
        var box = new SKRectI(
            (int)Math.Floor(detection.Box.Left * sx),
            (int)Math.Floor(detection.Box.Top * sy),
            Math.Min(originalWidth, (int)Math.Ceiling(detection.Box.Right * sx)),
            Math.Min(originalHeight, (int)Math.Ceiling(detection.Box.Bottom * sy)));
        var person = new PersonRecord(detection.Found, box, detection.Coverage, originalWidth, originalHeight);
        if (!Cache.TryGet(PersonUnit, key, PersonRecord.Dims, out _))
        {
            Cache.Put(PersonUnit, key, person.ToVector());
        }
        var units = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var owned = new List<SKBitmap>();
        try
        {
            var rendered = new Dictionary<OutfitView, SKBitmap>();
            var missing = new List<(string Name, SKBitmap Input)>();
            foreach (var (view, mirrored) in UnitsOf(settings))
            {
                var name = UnitName(view, mirrored);
                if (Cache.TryGet(name, key, ResNetEmbedder.Dimensions, out var vector))
                {
                    units[name] = vector;
                    continue;
                }
                if (!rendered.TryGetValue(view, out var plain))
                {
                    rendered[view] = plain = OutfitCropper.Render(image, detection, view);
                    owned.Add(plain);
                }
                var input = mirrored ? ResNetEmbedder.Mirror(plain) : plain;
                if (mirrored)
                {
                    owned.Add(input);
                }
                missing.Add((name, input));
            }
            // Every missing unit of the photo in one network run, as the engine does.
            var vectors = Engine.Embedder.EmbedBatch(missing.Select(m => m.Input).ToArray());
            for (var i = 0; i < missing.Count; i++)
            {
                Cache.Put(missing[i].Name, key, vectors[i]);
                units[missing[i].Name] = vectors[i];
            }
        }
        finally
        {
            foreach (var bitmap in owned)
            {
                bitmap.Dispose();
            }
        }
        return new PhotoFeatures(key, person, units);
    }
}
