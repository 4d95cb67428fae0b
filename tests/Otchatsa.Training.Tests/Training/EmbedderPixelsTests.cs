using System.Buffers.Binary;
using Otchatsa.Numerics;
using Otchatsa.Tests.Imaging;
using Otchatsa.Tests.Support;
using Otchatsa.Embeddings;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Tests.Training;

/// <summary>
/// What tools/embedder-train trains the last stage on: the pixels file must hold, for every photo, the person crop and
/// the whole photo exactly as the engine renders them, as sent and on the photo's backdrop, under the keys the
/// embedding cache uses — so the network sees in training what it sees in serving.
/// </summary>
public sealed class EmbedderPixelsTests : IDisposable
{
    private const int Record = 32 + 1 + 224 * 224 * 3;
    private readonly TempFolder _dir = new("otchatsa-embedder-pixels-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Every_photo_has_both_views_as_sent_and_on_its_backdrop_and_they_embed_to_the_cached_vectors()
    {
        var lines = new List<string> { "image,mall,product,style" };
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllBytes(_dir.File($"p{i}.jpg"), BadImageCorpus.MarkedJpeg(300 + 20 * i, 400, mark: i + 1));
            lines.Add($"p{i}.jpg,mall-{i},product-{i},romantic");
        }
        File.WriteAllLines(_dir.File("manifest.csv"), lines);
        var photos = LabelledPhotos.Read(_dir.File("manifest.csv"));
        using var engine = new OutfitEngine(ModelPaths.Locate(null, EmbedderPrecision.Fp32), EmbeddingSettings.Default);
        var extractor = FeatureExtractor.Create(engine, _dir.File("cache"));
        var keys = EmbedderData.Keys(photos);

        using var stream = new MemoryStream();
        var written = EmbedderPixels.Write(extractor, photos, keys, stream, progress: null, CancellationToken.None);
        var bytes = stream.ToArray();

        Assert.Equal(3 * 2 * 2, written);
        Assert.Equal(EmbedderPixels.Magic, bytes[..8]);
        Assert.Equal(written, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(12 + written * Record, bytes.Length);
        var records = Enumerable.Range(0, written)
            .Select(r => bytes.AsMemory(12 + r * Record, Record))
            .ToDictionary(r => (Convert.ToHexString(r.Span[..32]), r.Span[32]), r => r[33..]);

        var crop = new EmbeddingSettings(OutfitView.Crop);
        var whole = new EmbeddingSettings(OutfitView.Whole);
        var photo = File.ReadAllBytes(photos[1].Path);
        var backdrop = File.ReadAllBytes(photos[LabelledPhotos.BackgroundFor(photos, 1)].Path);
        var asSent = extractor.Extract(photo, [crop, whole]);
        var onBackdrop = extractor.ExtractOnBackground(photo, backdrop, [crop, whole]);
        Assert.Equal(onBackdrop.Key, EmbedderPixels.SwapKey(photos, keys, 1));
        foreach (var (features, view, settings) in new[]
                 { (asSent, (byte)0, crop), (asSent, (byte)1, whole), (onBackdrop, (byte)0, crop), (onBackdrop, (byte)1, whole) })
        {
            using var bitmap = Bitmap(records[(Convert.ToHexString(features.Key), view)].Span);
            var cosine = Cosine(engine.Embedder.Embed(bitmap), features.Vector(settings));
            Assert.True(cosine > 0.9999, $"view {view}: cosine {cosine}");
        }
        // The backdrop changes what the crop shows around the person: the two conditions are different pictures.
        Assert.False(records[(Convert.ToHexString(asSent.Key), 1)].Span.SequenceEqual(records[(Convert.ToHexString(onBackdrop.Key), 1)].Span));
    }

    [Fact]
    public void Folds_are_those_eval_assigns_over_all_the_manifests_together_not_per_manifest()
    {
        // Two manifests of 40 one-photo products each: per manifest, the folds would differ from eval's over both
        // (a training tool that held out a per-manifest fold would then train on eval's queries).
        var manifests = new[] { "a", "b" }.Select(name =>
        {
            Directory.CreateDirectory(_dir.File(name));
            var rows = Enumerable.Range(0, 40).Select(i => $"p{i}.jpg,mall-{i % 7},product-{name}-{i},romantic");
            File.WriteAllLines(Path.Combine(_dir.File(name), "manifest.csv"), ["image,mall,product,style", .. rows]);
            foreach (var i in Enumerable.Range(0, 40))
            {
                File.WriteAllBytes(Path.Combine(_dir.File(name), $"p{i}.jpg"), [0xFF, 0xD8]);
            }
            return Path.Combine(_dir.File(name), "manifest.csv");
        }).ToArray();

        var described = EmbedderData.FoldsAsEvaluated(manifests, folds: 5, seed: 1);
        var all = LabelledPhotos.ReadAll(manifests);
        var evaluated = Otchatsa.Evaluation.CrossValidation.ProductFolds(all, 5, 1);
        var byPath = all.ToDictionary(p => p.Path, p => evaluated[p.Index]);

        Assert.Equal([40, 40], described.Select(d => d.Photos.Count));
        Assert.All(described, d => Assert.All(d.Photos, p => Assert.Equal(byPath[p.Path], d.Folds[p.Index])));
        var perManifest = Otchatsa.Evaluation.CrossValidation.ProductFolds(described[1].Photos, 5, 1);
        Assert.NotEqual(perManifest, described[1].Folds);
    }

    private static double Cosine(float[] a, float[] b) =>
        VectorMath.Dot(a, b) / Math.Sqrt(VectorMath.Dot(a, a) * VectorMath.Dot(b, b));

    private static SKBitmap Bitmap(ReadOnlySpan<byte> rgb)
    {
        var bitmap = new SKBitmap(new SKImageInfo(224, 224, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var i = 0; i < 224 * 224; i++)
        {
            pixels[i * 4] = rgb[i * 3];
            pixels[i * 4 + 1] = rgb[i * 3 + 1];
            pixels[i * 4 + 2] = rgb[i * 3 + 2];
            pixels[i * 4 + 3] = 255;
        }
        return bitmap;
    }
}
