using System.Text.Json;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Training;

/// <summary>Raw network outputs (before normalisation) for the probe pictures, as written by <c>tools/embedder-train</c>.</summary>
public sealed record EmbedderReference(string Model, float[][] Outputs);

/// <summary>How far ONNX Runtime's outputs are from a reference (max |Δ| over every probe and dimension).</summary>
public sealed record EmbedderAgreement(int Probes, double MaxAbsDiff, double MaxAbsValue, double MinCosine);

/// <summary>
/// Checks that an embedding network run by ONNX Runtime — with the engine's own preprocessing — gives what PyTorch gave
/// for the same generated probe pictures (no data set involved). Used before training (the package's ResNet18 against
/// its weights loaded into torchvision) and after (the exported network against the trained one).
/// </summary>
public static class EmbedderCheck
{
    private const int Size = ResNetEmbedder.InputSize;

    /// <summary>
    /// The probe pictures of <c>tools/embedder-train/resnet_onnx.py</c> (<c>probe_images</c>), bit for bit: integer
    /// formulas only.
    /// </summary>
    public static SKBitmap[] ProbeImages()
    {
        var images = new SKBitmap[3];
        for (var k = 0; k < images.Length; k++)
        {
            var bitmap = new SKBitmap(new SKImageInfo(Size, Size, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var pixels = bitmap.GetPixelSpan();
            for (long y = 0; y < Size; y++)
            {
                for (long x = 0; x < Size; x++)
                {
                    var o = (int)(y * bitmap.RowBytes + x * 4);
                    for (long c = 0; c < 3; c++)
                    {
                        long v = k switch
                        {
                            0 => ((x * 31 + y * 17 + c * 101 + 7) * 2654435761L) % (1L << 32) >> 24,
                            1 => (x + 2 * y + 40 * c + ((x / 16 + y / 16) % 2) * 64) % 256,
                            _ => (x - 112) * (x - 112) + (y - 112) * (y - 112) / 4 < 60 * 60
                                ? 200 - 30 * c + y % 32
                                : 20 + 10 * c + x % 8,
                        };
                        pixels[o + (int)c] = (byte)v;
                    }
                    pixels[o + 3] = 255;
                }
            }
            bitmap.NotifyPixelsChanged();
            images[k] = bitmap;
        }
        return images;
    }

    /// <summary>The raw outputs of <paramref name="embedder"/> for the probe pictures.</summary>
    public static float[][] Run(ResNetEmbedder embedder)
    {
        var images = ProbeImages();
        try
        {
            return images.Select(image =>
            {
                var input = new float[3 * Size * Size];
                embedder.FillInput(image, input);
                var output = new float[ResNetEmbedder.Dimensions];
                embedder.RunRaw(input, output);
                return output;
            }).ToArray();
        }
        finally
        {
            foreach (var image in images)
            {
                image.Dispose();
            }
        }
    }

    public static EmbedderReference ReadReference(string path)
    {
        using var stream = File.OpenRead(path);
        var json = JsonDocument.Parse(stream).RootElement;
        var outputs = json.GetProperty("outputs").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        if (outputs.Length != 3 || outputs.Any(o => o.Length != ResNetEmbedder.Dimensions))
        {
            throw new InvalidDataException($"{path}: expected 3 outputs of {ResNetEmbedder.Dimensions} values.");
        }
        return new EmbedderReference(json.TryGetProperty("model", out var model) ? model.GetString() ?? "" : "", outputs);
    }

    public static EmbedderAgreement Compare(float[][] actual, float[][] reference)
    {
        double maxDiff = 0, maxValue = 0, minCosine = 1;
        for (var p = 0; p < reference.Length; p++)
        {
            double dot = 0, na = 0, nr = 0;
            for (var i = 0; i < reference[p].Length; i++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[p][i] - reference[p][i]));
                maxValue = Math.Max(maxValue, Math.Abs(reference[p][i]));
                dot += actual[p][i] * reference[p][i];
                na += actual[p][i] * actual[p][i];
                nr += reference[p][i] * reference[p][i];
            }
            minCosine = Math.Min(minCosine, dot / Math.Sqrt(Math.Max(na * nr, 1e-30)));
        }
        return new EmbedderAgreement(reference.Length, maxDiff, maxValue, minCosine);
    }
}
