using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Otchatsa.Vision;
using Xunit.Abstractions;

namespace Otchatsa.Tests.Vision;

/// <summary>
/// The committed ONNX model against the original TF.js graph run by @tensorflow/tfjs (CPU backend) in
/// tools/segmenter-reference. Inputs are rebuilt here from the same recipes; their SHA-256 proves they are identical.
/// </summary>
public sealed class SegmenterConversionTests(ITestOutputHelper output)
{
    // Measured: max 3.6e-4 (portrait, at the person edge where the sigmoid is steepest), mean ≤ 3.4e-6 — float32
    // summation-order noise. A mapping error (pads, resize mode, filter layout) shows up as 1e-2 and more.
    private const float Tolerance = 1e-3f;
    private const double MeanTolerance = 1e-5;
    private static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "segmenter");

    [Fact]
    public void The_onnx_model_reproduces_the_tfjs_outputs_on_every_fixture_input()
    {
        using var recipes = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, "recipes.json")));
        using var segmenter = new PersonSegmenter();
        var cases = recipes.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(4, cases.Count);

        var worst = 0f;
        foreach (var c in cases)
        {
            var name = c.GetProperty("name").GetString()!;
            var input = SegmenterInputs.Make(name);
            Assert.Equal(c.GetProperty("inputSha256").GetString(),
                Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(input.AsSpan()))));

            var expected = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(FixtureDir, c.GetProperty("expected").GetString()!))).ToArray();
            var actual = segmenter.Run(input);
            Assert.Equal(expected.Length, actual.Length);

            var maxError = 0f;
            var sumError = 0d;
            for (var i = 0; i < expected.Length; i++)
            {
                var e = Math.Abs(expected[i] - actual[i]);
                maxError = Math.Max(maxError, e);
                sumError += e;
            }
            output.WriteLine($"{name}: max |onnx - tfjs| = {maxError:E2}, mean = {sumError / expected.Length:E2}");
            Assert.True(sumError / expected.Length < MeanTolerance, $"{name}: mean abs error {sumError / expected.Length}");
            worst = Math.Max(worst, maxError);
        }
        Assert.True(worst < Tolerance, $"max abs error {worst} ≥ {Tolerance}");
    }

    [Fact]
    public void The_synthetic_figures_are_segmented_as_people_and_the_noise_is_not()
    {
        // Guards the fixtures themselves: a comparison on all-zero outputs would prove little.
        using var segmenter = new PersonSegmenter();
        Assert.True(segmenter.Run(SegmenterInputs.Make("figure")).Count(p => p >= 0.5f) > 5000);
        Assert.True(segmenter.Run(SegmenterInputs.Make("portrait")).Count(p => p >= 0.5f) > 20000);
        Assert.DoesNotContain(segmenter.Run(SegmenterInputs.Make("noise")), p => p >= 0.5f);
    }
}

/// <summary>The fixture input recipes of tools/segmenter-reference/reference.js, operation for operation.</summary>
internal static class SegmenterInputs
{
    private const int Size = PersonSegmenter.Size;
    private static readonly int[] Skin = [224, 172, 140], Hair = [40, 25, 20], Eye = [20, 20, 20], Lip = [170, 70, 70],
        Shirt = [200, 40, 40], Trousers = [40, 50, 90];

    public static float[] Make(string name)
    {
        Func<int, int, float[]> recipe = name switch
        {
            "gradient" => (x, y) => [(float)(x / 255.0), (float)(y / 255.0), (float)(x * y % 256 / 255.0)],
            "noise" => Noise(),
            "figure" => Figure,
            "portrait" => Portrait,
            _ => throw new ArgumentException($"No recipe '{name}'.", nameof(name)),
        };
        var data = new float[Size * Size * 3];
        for (var y = 0; y < Size; y++)
        {
            for (var x = 0; x < Size; x++)
            {
                var rgb = recipe(x, y);
                rgb.CopyTo(data, (y * Size + x) * 3);
            }
        }
        return data;
    }

    private static Func<int, int, float[]> Noise()
    {
        var s = 20240601u;
        float Next()
        {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            return (float)((s >> 8) / 16777216.0);
        }
        return (_, _) => [Next(), Next(), Next()];
    }

    private static float[] Rgb(int[] c) => [(float)(c[0] / 255.0), (float)(c[1] / 255.0), (float)(c[2] / 255.0)];

    private static bool Disc(int x, int y, long cx, long cy, long rx, long ry) =>
        (x - cx) * (x - cx) * ry * ry + (y - cy) * (y - cy) * rx * rx <= rx * rx * ry * ry;

    private static bool Rect(int x, int y, int x0, int y0, int x1, int y1) => x >= x0 && x < x1 && y >= y0 && y < y1;

    private static float[] Figure(int x, int y)
    {
        if (Disc(x, y, 124, 40, 5, 3) || Disc(x, y, 136, 40, 5, 3)) return Rgb(Eye);
        if (Disc(x, y, 128, 44, 20, 26)) return Rgb(Skin);
        if (Disc(x, y, 128, 38, 22, 28)) return Rgb(Hair);
        if (Rect(x, y, 120, 66, 136, 76)) return Rgb(Skin);
        if (Disc(x, y, 128, 120, 40, 50)) return Rgb(Shirt);
        if (Rect(x, y, 80, 80, 96, 170) || Rect(x, y, 160, 80, 176, 170)) return Rgb(Shirt);
        if (Rect(x, y, 104, 150, 126, 250) || Rect(x, y, 130, 150, 152, 250)) return Rgb(Trousers);
        return Rgb([200, 200, 190 - (y >> 3)]);
    }

    private static float[] Portrait(int x, int y)
    {
        if (Disc(x, y, 128, 300, 120, 110)) return Rgb(Shirt);
        if (Disc(x, y, 104, 100, 10, 6) || Disc(x, y, 152, 100, 10, 6)) return Rgb(Eye);
        if (Disc(x, y, 128, 150, 18, 7)) return Rgb(Lip);
        if (x >= 112 && x < 144 && y >= 150 && y < 210) return Rgb(Skin);
        if (Disc(x, y, 128, 110, 62, 80)) return Rgb(Skin);
        if (Disc(x, y, 128, 95, 70, 90)) return Rgb(Hair);
        return Rgb([90, 140, 200 - (y >> 2)]);
    }
}
