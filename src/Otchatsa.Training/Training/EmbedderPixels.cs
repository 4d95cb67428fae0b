using Otchatsa.Embeddings;
using Otchatsa.Imaging;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Training;

/// <summary>
/// The served views' pixels, for <c>tools/embedder-train</c> when it trains the network's last stage: for every photo
/// the person crop and the whole photo exactly as the engine renders them (224×224 RGB, before the mirror and the
/// network's preprocessing), as sent and with the person pasted onto its backdrop photo
/// (<see cref="LabelledPhotos.BackgroundFor"/>, the evaluation's partner). Derived from the data set's photos: the tool
/// writes it to a temporary folder and deletes it. Layout: the magic <c>OTPX1\0\0\0</c>, an int32 record count, then
/// records of a 32-byte cache key (<see cref="EmbeddingCache.ImageKey"/> or the swap's derived key), one byte view
/// (0 crop, 1 whole) and 224×224×3 bytes RGB, row by row.
/// </summary>
public static class EmbedderPixels
{
    public static readonly byte[] Magic = "OTPX1\0\0\0"u8.ToArray();

    private static readonly (byte Code, OutfitView View)[] Views = [(0, OutfitView.Crop), (1, OutfitView.Whole)];

    /// <summary>The derived key of photo <paramref name="index"/> on its backdrop, as <see cref="FeatureExtractor.ExtractOnBackground"/> keys it.</summary>
    public static byte[] SwapKey(IReadOnlyList<LabelledPhoto> photos, IReadOnlyList<byte[]> keys, int index) =>
        EmbeddingCache.DerivedKey(FeatureExtractor.SwapRecipe, keys[index], keys[LabelledPhotos.BackgroundFor(photos, index)]);

    /// <summary>Writes both conditions of every photo; returns how many records were written.</summary>
    public static int Write(FeatureExtractor extractor, IReadOnlyList<LabelledPhoto> photos, IReadOnlyList<byte[]> keys, Stream output,
        IProgress<FeatureProgress>? progress, CancellationToken cancellationToken)
    {
        var count = 0;
        output.Write(Magic);
        output.Write(BitConverter.GetBytes(0));
        var record = new byte[32 + 1 + OutfitCropper.Size * OutfitCropper.Size * 3];
        for (var i = 0; i < photos.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bytes = File.ReadAllBytes(photos[i].Path);
            using (var decoded = ImageDecoder.Decode(bytes, extractor.Engine.Limits))
            {
                count += WriteViews(extractor, decoded.Bitmap, keys[i], record, output);
            }
            using (var swapped = extractor.Swap(bytes, File.ReadAllBytes(photos[LabelledPhotos.BackgroundFor(photos, i)].Path)))
            {
                count += WriteViews(extractor, swapped, SwapKey(photos, keys, i), record, output);
            }
            progress?.Report(new FeatureProgress(i + 1, photos.Count));
        }
        output.Position = Magic.Length;
        output.Write(BitConverter.GetBytes(count));
        return count;
    }

    private static int WriteViews(FeatureExtractor extractor, SKBitmap image, byte[] key, byte[] record, Stream output)
    {
        var detection = extractor.Engine.Segmenter.Detect(image);
        foreach (var (code, view) in Views)
        {
            using var rendered = OutfitCropper.Render(image, detection, view);
            using var rgba = rendered.ColorType == SKColorType.Rgba8888 ? null : rendered.Copy(SKColorType.Rgba8888);
            var source = rgba ?? rendered;
            var pixels = source.GetPixelSpan();
            key.CopyTo(record, 0);
            record[32] = code;
            var o = 33;
            for (var y = 0; y < OutfitCropper.Size; y++)
            {
                var row = pixels.Slice(y * source.RowBytes, OutfitCropper.Size * 4);
                for (var x = 0; x < OutfitCropper.Size; x++)
                {
                    record[o++] = row[x * 4];
                    record[o++] = row[x * 4 + 1];
                    record[o++] = row[x * 4 + 2];
                }
            }
            output.Write(record);
        }
        return Views.Length;
    }
}
