using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace Otchatsa.KFashion;

/// <summary>A garment box of a K-Fashion label, in pixels of the labelled (original) image.</summary>
public sealed record GarmentBox(string Garment, float X, float Y, float Width, float Height);

/// <summary>
/// The fields of an official AI Hub K-Fashion label file that Otchatsa uses: image identity and size, style and
/// sub-style (<c>라벨링 → 스타일[0]</c>), the labelled garment categories and their boxes (<c>렉트좌표</c>).
/// </summary>
public sealed record KFashionLabel(
    long Id,
    string FileName,
    int Width,
    int Height,
    string Style,
    string? Substyle,
    IReadOnlyList<string> Garments,
    IReadOnlyList<GarmentBox> Boxes)
{
    /// <summary>Garment categories in the order the manifest writes them.</summary>
    public static IReadOnlyList<string> GarmentOrder { get; } = ["아우터", "상의", "하의", "원피스"];

    /// <summary>Reads one label file; throws <see cref="InvalidDataException"/> when it lacks the fields above.</summary>
    public static KFashionLabel Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var doc = JsonDocument.Parse(stream);
        try
        {
            var root = doc.RootElement;
            var image = root.GetProperty("이미지 정보");
            var detail = root.GetProperty("데이터셋 정보").GetProperty("데이터셋 상세설명");
            var labels = detail.GetProperty("라벨링");
            var style = labels.GetProperty("스타일")[0];
            var garments = GarmentOrder
                .Where(g => labels.TryGetProperty(g, out var entries) && entries.ValueKind == JsonValueKind.Array
                            && entries.EnumerateArray().Any(e => e.ValueKind == JsonValueKind.Object && e.EnumerateObject().Any()))
                .ToArray();
            var boxes = new List<GarmentBox>();
            if (detail.TryGetProperty("렉트좌표", out var rects))
            {
                foreach (var garment in rects.EnumerateObject())
                {
                    foreach (var r in garment.Value.EnumerateArray())
                    {
                        if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("X좌표", out var x) && r.TryGetProperty("Y좌표", out var y)
                            && r.TryGetProperty("가로", out var w) && r.TryGetProperty("세로", out var h))
                        {
                            boxes.Add(new GarmentBox(garment.Name, x.GetSingle(), y.GetSingle(), w.GetSingle(), h.GetSingle()));
                        }
                    }
                }
            }
            return new KFashionLabel(
                image.GetProperty("이미지 식별자").GetInt64(),
                image.GetProperty("이미지 파일명").GetString() ?? "",
                image.GetProperty("이미지 너비").GetInt32(),
                image.GetProperty("이미지 높이").GetInt32(),
                style.GetProperty("스타일").GetString() ?? "",
                style.TryGetProperty("서브스타일", out var sub) && !string.IsNullOrWhiteSpace(sub.GetString()) ? sub.GetString() : null,
                garments,
                boxes);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is not a K-Fashion label file: {ex.Message}", ex);
        }
    }

    /// <summary>The union of the garment boxes, scaled to an image <paramref name="imageWidth"/> pixels wide; null without boxes.</summary>
    public SKRect? GarmentUnion(int imageWidth, int imageHeight)
    {
        if (Boxes.Count == 0 || Width <= 0 || Height <= 0)
        {
            return null;
        }
        var sx = (float)imageWidth / Width;
        var sy = (float)imageHeight / Height;
        var union = SKRect.Empty;
        foreach (var b in Boxes)
        {
            var r = SKRect.Create(b.X * sx, b.Y * sy, b.Width * sx, b.Height * sy);
            union = union.IsEmpty ? r : SKRect.Union(union, r);
        }
        union.Intersect(SKRect.Create(0, 0, imageWidth, imageHeight));
        return union.IsEmpty ? null : union;
    }
}

/// <summary>Mall and product from a K-Fashion file name, <c>&lt;Mall&gt;_&lt;productNo&gt;_&lt;shot&gt;.jpg</c>.</summary>
public static partial class KFashionFileName
{
    /// <summary>
    /// The mall (empty when the name has no mall prefix) and the product id (<c>mall:number</c>, lower case; names
    /// without a mall get <c>?:</c> and their leading code, so shots of one product still group together).
    /// </summary>
    public static (string Mall, string Product) Parse(string fileName)
    {
        var named = MallPattern().Match(fileName);
        if (named.Success)
        {
            var mall = named.Groups["mall"].Value;
            return (mall, mall.ToLowerInvariant() + ":" + named.Groups["product"].Value);
        }
        var code = CodePattern().Match(fileName);
        return ("", "?:" + (code.Success ? code.Groups["code"].Value : fileName).ToLowerInvariant());
    }

    // An optional batch_ prefix, a mall name starting with a letter (letters, digits, '.', '-'), a numeric product, an
    // optional shot suffix. A one-letter "mall" (u_…, F_…) is an upload id, not a mall.
    [GeneratedRegex(@"^(?:batch_)?(?<mall>[A-Za-z][A-Za-z0-9.\-]+)_(?<product>[0-9]+)(?:_[^.]*)?\.[A-Za-z0-9]+$")]
    private static partial Regex MallPattern();

    [GeneratedRegex(@"^(?<code>[0-9][A-Za-z0-9]*|[A-Za-z][A-Za-z0-9]+)[\-_(]")]
    private static partial Regex CodePattern();
}
