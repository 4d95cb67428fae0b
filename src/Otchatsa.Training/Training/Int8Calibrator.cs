using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Otchatsa.Catalog;
using Otchatsa.Imaging;
using Otchatsa.Indexing;
using Otchatsa.Numerics;
using Otchatsa.Pipeline;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Training;

/// <summary>What <see cref="Int8Calibrator.Run"/> made: the card (ranges, calibration record, cosine check) and the model bytes.</summary>
public sealed record Int8CalibrationResult(Int8ModelCard Card, byte[] Model);

/// <summary>
/// Calibrates the int8 ResNet18 on catalog photos: draws whole products with a seed, feeds each photo's four product
/// views (person crop and whole photo, each with its mirror) through the BatchNorm-folded fp32 graph with every
/// quantized tensor exposed, keeps each tensor's minimum and maximum, builds the QDQ model from those ranges and
/// compares its embeddings with fp32 on photos of other products.
/// </summary>
public static class Int8Calibrator
{
    public const string Statistic = "min-max over all calibration inputs";

    public const string Method =
        "static QDQ (ONNX opset 13): Conv weights int8 per output channel, symmetric [-127,127]; biases int32 at input scale × weight scale; " +
        "activations uint8 per tensor (zero point 0 after a Relu, which the QuantizeLinear then replaces); BatchNormalization folded into the Conv first";

    public static Int8CalibrationResult Run(
        OutfitEngine fp32, string manifest, int calibrationPhotos, int checkPhotos, int seed, Action<string>? log = null)
    {
        if (fp32.Embedder.Precision != EmbedderPrecision.Fp32)
        {
            throw new ArgumentException("Calibration needs the fp32 engine.", nameof(fp32));
        }
        var (calibration, check) = DrawPhotos(manifest, calibrationPhotos, checkPhotos, seed);
        if (calibration.Count == 0)
        {
            throw new InvalidDataException($"'{manifest}' lists no photo that exists.");
        }

        var fp32Bytes = fp32.Embedder.Fp32Source.ReadAllBytes();
        var (ranges, photoHashes) = MeasureRanges(fp32, fp32Bytes, calibration, log);
        var model = ResNetQuantizer.Quantize(fp32Bytes, ranges);
        var card = new Int8ModelCard
        {
            SourceId = fp32.Embedder.ModelId,
            SourceSha256 = fp32.Embedder.ModelSha256,
            ModelSha256 = Convert.ToHexStringLower(SHA256.HashData(model)),
            Method = Method,
            Calibration = new Int8Calibration(
                Path.GetFileName(manifest), IndexManifest.Sha256OfFile(manifest), seed,
                "crop, whole, crop~mirror, whole~mirror (the default view's four network inputs)", Statistic, photoHashes),
            Ranges = ranges,
            CreatedUtc = DateTimeOffset.UtcNow,
        };
        log?.Invoke($"checking cosine(int8, fp32) on {check.Count} held-out photos");
        card = card with { Check = Compare(fp32, card, check) };
        return new Int8CalibrationResult(card, model);
    }

    /// <summary>Whole products drawn with the seed: the first for calibration, the next (other products) for the check.</summary>
    private static (List<CatalogRow> Calibration, List<CatalogRow> Check) DrawPhotos(string manifest, int calibrationPhotos, int checkPhotos, int seed)
    {
        var rows = CatalogManifest.Read(manifest).Where(r => r.ResolvedPath is not null && File.Exists(r.ResolvedPath)).ToList();
        var groups = rows.GroupBy(r => string.IsNullOrWhiteSpace(r.Product) ? "image:" + r.Image : "product:" + r.Product)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var random = new Random(seed);
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(groups));
        var calibration = new List<CatalogRow>();
        var check = new List<CatalogRow>();
        foreach (var group in groups)
        {
            var target = calibration.Count < calibrationPhotos ? calibration : check.Count < checkPhotos ? check : null;
            target?.AddRange(group.Take((target == calibration ? calibrationPhotos : checkPhotos) - target.Count));
        }
        return (calibration, check);
    }

    /// <summary>
    /// Runs each calibration photo's views through the folded fp32 graph with every quantized tensor exposed; returns each
    /// tensor's range over all of them, and the SHA-256 of the photos used.
    /// </summary>
    private static (ActivationRange[] Ranges, List<string> PhotoHashes) MeasureRanges(
        OutfitEngine fp32, byte[] fp32Bytes, List<CatalogRow> calibration, Action<string>? log)
    {
        var tensors = ResNetQuantizer.QuantizedTensors(fp32Bytes);
        var min = tensors.ToDictionary(t => t, _ => float.PositiveInfinity, StringComparer.Ordinal);
        var max = tensors.ToDictionary(t => t, _ => float.NegativeInfinity, StringComparer.Ordinal);
        var photoHashes = new List<string>();
        using (var options = OnnxSessions.Options())
        using (var session = new InferenceSession(ResNetQuantizer.CalibrationModel(fp32Bytes), options))
        using (var runOptions = new RunOptions())
        {
            var inputName = session.InputNames[0];
            var done = 0;
            foreach (var row in calibration)
            {
                var bytes = File.ReadAllBytes(row.ResolvedPath!);
                var views = Views(fp32, bytes);
                if (views is null)
                {
                    continue;
                }
                photoHashes.Add(Convert.ToHexStringLower(SHA256.HashData(bytes)));
                var tensor = new float[views.Length * 3 * ResNetEmbedder.InputSize * ResNetEmbedder.InputSize];
                for (var b = 0; b < views.Length; b++)
                {
                    fp32.Embedder.FillInput(views[b], tensor.AsSpan(b * tensor.Length / views.Length, tensor.Length / views.Length));
                    views[b].Dispose();
                }
                using var input = OrtValue.CreateTensorValueFromMemory(tensor, [views.Length, 3, ResNetEmbedder.InputSize, ResNetEmbedder.InputSize]);
                using var outputs = session.Run(runOptions, [inputName], [input], tensors.ToArray());
                for (var t = 0; t < tensors.Count; t++)
                {
                    Widen(outputs[t].GetTensorDataAsSpan<float>(), tensors[t], min, max);
                }
                if (++done % 16 == 0)
                {
                    log?.Invoke($"calibrated on {done}/{calibration.Count} photos");
                }
            }
        }
        return (tensors.Select(t => new ActivationRange(t, min[t], max[t])).ToArray(), photoHashes);
    }

    private static void Widen(ReadOnlySpan<float> values, string tensor, Dictionary<string, float> min, Dictionary<string, float> max)
    {
        var (lo, hi) = (min[tensor], max[tensor]);
        foreach (var v in values)
        {
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }
        (min[tensor], max[tensor]) = (lo, hi);
    }

    /// <summary>cosine(int8, fp32) per single-view embedding of <paramref name="photos"/> (all four views of each).</summary>
    public static Int8Check Compare(OutfitEngine fp32, Int8ModelCard card, IReadOnlyList<CatalogRow> photos)
    {
        using var int8 = ResNetEmbedder.Open(fp32.Models, card);
        var cosines = new List<double>();
        var used = 0;
        foreach (var row in photos)
        {
            var views = Views(fp32, File.ReadAllBytes(row.ResolvedPath!));
            if (views is null)
            {
                continue;
            }
            used++;
            var a = fp32.Embedder.EmbedBatch(views);
            var b = int8.EmbedBatch(views);
            for (var i = 0; i < views.Length; i++)
            {
                cosines.Add(VectorMath.Dot(a[i], b[i]));
                views[i].Dispose();
            }
        }
        return Summarize(used, cosines);
    }

    public static Int8Check Summarize(int photos, List<double> cosines)
    {
        var sorted = cosines.Order().ToArray();
        double At(double p) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Floor(p * (sorted.Length - 1))];
        return new Int8Check(photos, sorted.Length, Math.Round(At(0.5), 5), Math.Round(At(0.01), 5), Math.Round(At(0), 5));
    }

    /// <summary>The four network inputs of the default view: crop, whole, and their mirrors (the caller disposes them); null when not an image.</summary>
    public static SKBitmap[]? Views(OutfitEngine engine, byte[] photo)
    {
        try
        {
            using var decoded = ImageDecoder.Decode(photo, engine.Limits);
            var person = engine.Segmenter.Detect(decoded.Bitmap);
            var crop = OutfitCropper.Render(decoded.Bitmap, person, OutfitView.Crop);
            var whole = OutfitCropper.Render(decoded.Bitmap, person, OutfitView.Whole);
            return [crop, whole, ResNetEmbedder.Mirror(crop), ResNetEmbedder.Mirror(whole)];
        }
        catch (ImageRejectedException)
        {
            return null;
        }
    }
}
