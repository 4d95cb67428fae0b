using Otchatsa.Imaging;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;

namespace Otchatsa.Vision;

/// <summary>
/// Finds the person in a photo with MediaPipe's selfie segmenter (converted to ONNX by tools/Otchatsa.SegmenterImporter,
/// see models/selfie_segmentation.md). One instance holds one ONNX Runtime session and may be shared by threads.
/// </summary>
public sealed class PersonSegmenter : IDisposable
{
    /// <summary>The model's square input and output resolution.</summary>
    public const int Size = 256;

    /// <summary>Mask probability at or above which a pixel counts as person.</summary>
    public const float Threshold = 0.5f;

    /// <summary>A person component smaller than this share of the image is treated as no person (noise, a hand, a face in a poster).</summary>
    public const float MinCoverage = 0.02f;

    /// <summary>Margin added to each side of the person box, as a share of the box's width/height.</summary>
    public const float BoxMargin = 0.05f;

    private const string InputName = "input_1";
    private const string OutputName = "activation_10";
    private static readonly long[] InputShape = [1, Size, Size, 3];

    private readonly InferenceSession _session;

    /// <summary>Where the build puts the model (Otchatsa.Engine copies models/ next to the binaries).</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "models", "selfie_segmentation.onnx");

    /// <param name="modelPath">The ONNX model; <see cref="DefaultModelPath"/> when null.</param>
    public PersonSegmenter(string? modelPath = null)
    {
        using var options = OnnxSessions.CallerThread();
        _session = new InferenceSession(modelPath ?? DefaultModelPath, options);
    }

    /// <param name="modelPath">The ONNX model.</param>
    /// <param name="options">Session options (e.g. <see cref="OnnxSessions.CallerThread"/>, as the default constructor uses).</param>
    public PersonSegmenter(string modelPath, SessionOptions options)
    {
        _session = new InferenceSession(modelPath, options);
    }

    /// <summary>Segments the image and derives the person box.</summary>
    public PersonDetection Detect(SKBitmap image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return FromMask(Segment(image), image.Width, image.Height);
    }

    /// <summary>Person probabilities at <see cref="Size"/>×<see cref="Size"/>, the image stretched to the model's square input.</summary>
    public PersonMask Segment(SKBitmap image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new PersonMask(Size, Size, Run(ToInput(image)));
    }

    /// <summary>
    /// Runs the raw model: <paramref name="nhwcRgb"/> is [256,256,3] RGB in [0,1], row-major; returns [256,256] probabilities.
    /// </summary>
    public float[] Run(float[] nhwcRgb)
    {
        ArgumentNullException.ThrowIfNull(nhwcRgb);
        if (nhwcRgb.Length != Size * Size * 3)
        {
            throw new ArgumentException($"Expected {Size * Size * 3} values, got {nhwcRgb.Length}.", nameof(nhwcRgb));
        }
        using var input = OrtValue.CreateTensorValueFromMemory(nhwcRgb, InputShape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [InputName], [input], [OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>
    /// Thresholds the mask, keeps the largest 8-connected person component and maps its bounding box (plus
    /// <see cref="BoxMargin"/>) to image pixels. Only the largest component counts so that a stray blob (a mannequin,
    /// a poster) does not stretch the box; below <see cref="MinCoverage"/> the whole image is returned.
    /// </summary>
    public static PersonDetection FromMask(PersonMask mask, int imageWidth, int imageHeight)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var whole = new SKRectI(0, 0, imageWidth, imageHeight);
        var (area, minX, minY, maxX, maxY) = LargestComponent(mask);
        var coverage = (float)area / (mask.Width * mask.Height);
        if (coverage < MinCoverage)
        {
            return new PersonDetection(false, whole, coverage, mask);
        }

        // Mask cell x spans image pixels [x·W/w, (x+1)·W/w) because the image was stretched onto the mask.
        var sx = (double)imageWidth / mask.Width;
        var sy = (double)imageHeight / mask.Height;
        double left = minX * sx, right = (maxX + 1) * sx, top = minY * sy, bottom = (maxY + 1) * sy;
        var mx = (right - left) * BoxMargin;
        var my = (bottom - top) * BoxMargin;
        var box = new SKRectI(
            Math.Max(0, (int)Math.Floor(left - mx)),
            Math.Max(0, (int)Math.Floor(top - my)),
            Math.Min(imageWidth, (int)Math.Ceiling(right + mx)),
            Math.Min(imageHeight, (int)Math.Ceiling(bottom + my)));
        return new PersonDetection(true, box, coverage, mask);
    }

    private static (int Area, int MinX, int MinY, int MaxX, int MaxY) LargestComponent(PersonMask mask)
    {
        int w = mask.Width, h = mask.Height;
        var p = mask.Probabilities;
        var label = new int[w * h]; // 0 = unvisited; component ids start at 1
        var stack = new Stack<int>();
        var best = (Area: 0, MinX: 0, MinY: 0, MaxX: -1, MaxY: -1);
        var id = 0;
        for (var start = 0; start < p.Length; start++)
        {
            if (p[start] < Threshold || label[start] != 0)
            {
                continue;
            }
            id++;
            var cur = (Area: 0, MinX: w, MinY: h, MaxX: -1, MaxY: -1);
            label[start] = id;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                int x = i % w, y = i / w;
                cur = (cur.Area + 1, Math.Min(cur.MinX, x), Math.Min(cur.MinY, y), Math.Max(cur.MaxX, x), Math.Max(cur.MaxY, y));
                for (var dy = -1; dy <= 1; dy++)
                {
                    for (var dx = -1; dx <= 1; dx++)
                    {
                        int nx = x + dx, ny = y + dy;
                        if ((uint)nx >= (uint)w || (uint)ny >= (uint)h)
                        {
                            continue;
                        }
                        var j = ny * w + nx;
                        if (label[j] == 0 && p[j] >= Threshold)
                        {
                            label[j] = id;
                            stack.Push(j);
                        }
                    }
                }
            }
            if (cur.Area > best.Area)
            {
                best = cur;
            }
        }
        return best;
    }

    /// <summary>Stretches the image to 256×256 and lays it out as NHWC RGB floats in [0,1], as the model was trained.</summary>
    internal static float[] ToInput(SKBitmap image)
    {
        // Intake guarantees Rgba8888; anything else (Gray8, Bgra8888 ...) is converted rather than rejected.
        using var converted = image.ColorType == SKColorType.Rgba8888 ? null : OutfitCropper.ToRgba(image);
        var source = converted ?? image;
        // Area-averaging shrink: every source pixel behind a target pixel counts (photos are ~2–8× larger).
        using var pixmap = source.PeekPixels();
        using var resized = Resampling.Resize(pixmap, Size, Size);
        var pixels = resized.GetPixelSpan();
        var input = new float[Size * Size * 3];
        for (int i = 0, o = 0; i < pixels.Length; i += 4, o += 3)
        {
            input[o] = pixels[i] / 255f;
            input[o + 1] = pixels[i + 1] / 255f;
            input[o + 2] = pixels[i + 2] / 255f;
        }
        return input;
    }

    public void Dispose() => _session.Dispose();
}
