using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Otchatsa.Demo;

/// <summary>A fictional demo mall whose stock is defined by Fashion-MNIST classes.</summary>
/// <param name="Id">The <c>mall</c> value written to the manifest.</param>
/// <param name="Url">An unresolvable <c>.example.invalid</c> address (RFC 2606/6761), so nobody mistakes it for a shop.</param>
/// <param name="Classes">Fashion-MNIST label ids the mall sells.</param>
public sealed record DemoMall(string Id, string Url, IReadOnlyList<int> Classes);

/// <summary>How <see cref="FashionMnist.WriteDemoCatalog"/> renders the catalog.</summary>
public sealed record DemoCatalogOptions
{
    /// <summary>
    /// Side of the written square PNGs. 112 = 4× the 28 px source: big enough to look like a thumbnail, small enough
    /// that the embedding's 224 px resize does not just magnify blur.
    /// </summary>
    public int ImageSize { get; init; } = 112;

    /// <summary>
    /// Fashion-MNIST stores a light garment on black. Inverting (255 − v) gives a dark garment on a white background,
    /// which is what mall product shots look like and what an ImageNet backbone has seen most; it also matches the
    /// white collage background.
    /// </summary>
    public bool Invert { get; init; } = true;

    /// <summary>Class of the held-out query image (default 9 = Ankle boot: sold by exactly one demo mall).</summary>
    public int QueryClass { get; init; } = 9;

    public IReadOnlyList<DemoMall> Malls { get; init; } = DemoCatalogWriter.DefaultMalls;
}

/// <summary>What <see cref="FashionMnist.WriteDemoCatalog"/> wrote.</summary>
/// <param name="ManifestPath">The catalog CSV (DESIGN.md catalog format).</param>
/// <param name="QueryImagePath"><c>query.png</c>: a test-split image that is not in the catalog.</param>
/// <param name="QueryLabel">Class id of the query image.</param>
/// <param name="QuerySourceIndex">Index of the query image in the t10k file.</param>
/// <param name="ImageCount">Rows in the manifest.</param>
/// <param name="ImagesPerMall">Rows per mall id.</param>
/// <param name="Source">Where the dataset came from (<see cref="FashionMnist.SourceDescription"/>).</param>
public sealed record DemoCatalog(
    string ManifestPath,
    string QueryImagePath,
    int QueryLabel,
    int QuerySourceIndex,
    int ImageCount,
    IReadOnlyDictionary<string, int> ImagesPerMall,
    string Source);

/// <summary>Turns the Fashion-MNIST test split into a small, deterministic demo catalog on disk.</summary>
internal static class DemoCatalogWriter
{
    public const string ManifestHeader = "image,mall,style,title,url,price,mall_url,garment,source_index";

    // Classes sold by two malls are dealt out alternately, so every image belongs to exactly one mall and
    // "which mall sells this vibe" still has a single right answer per image.
    public static IReadOnlyList<DemoMall> DefaultMalls { get; } =
    [
        new("demo-tops", "https://demo-tops.example.invalid/", [0, 6, 2]),
        new("demo-outer", "https://demo-outer.example.invalid/", [4, 2]),
        new("demo-dress", "https://demo-dress.example.invalid/", [3]),
        new("demo-shoes", "https://demo-shoes.example.invalid/", [5, 7, 9]),
        new("demo-bags", "https://demo-bags.example.invalid/", [8]),
        new("demo-basics", "https://demo-basics.example.invalid/", [1, 0]),
    ];

    // Rough KRW price bands per class, so prices look plausible next to each other.
    private static readonly (int Min, int Max)[] PriceBands =
    [
        (9_900, 39_900), (29_900, 79_900), (29_900, 89_900), (39_900, 129_900), (79_900, 299_900),
        (19_900, 69_900), (24_900, 69_900), (49_900, 159_900), (29_900, 199_900), (69_900, 219_900),
    ];

    public static DemoCatalog Write(FashionMnist data, string outDir, int perClass, DemoCatalogOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ImageSize, 28);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.ImageSize, 1024);
        ArgumentOutOfRangeException.ThrowIfNegative(options.QueryClass);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(options.QueryClass, FashionMnist.ClassNames.Count);

        var mallsOfClass = MallsOfClass(options.Malls);
        var (images, labels, sourceIndex) = data.LoadTestWithSourceIndex();
        var (rows, query) = SelectRows(labels, mallsOfClass, perClass, options.QueryClass, data.SourceDescription);

        string root = Path.GetFullPath(outDir);
        var perMall = options.Malls.ToDictionary(m => m.Id, _ => 0);
        string manifestPath = Path.Combine(root, "manifest.csv");
        WriteAtomically(manifestPath, WriteRows(rows, images, sourceIndex, mallsOfClass, perMall, Path.Combine(root, "images"), options));

        string queryPath = Path.Combine(root, "query.png");
        File.WriteAllBytes(queryPath, RenderPng(images[query], images.Columns, images.Rows, options));
        int queryIndex = sourceIndex[query];
        WriteAtomically(Path.Combine(root, "README.txt"), Readme(data, rows.Count, perClass, queryIndex, labels[query], options));

        return new DemoCatalog(manifestPath, queryPath, labels[query], queryIndex, rows.Count, perMall, data.SourceDescription);
    }

    private static List<DemoMall>[] MallsOfClass(IReadOnlyList<DemoMall> malls)
    {
        var mallsOfClass = new List<DemoMall>[FashionMnist.ClassNames.Count];
        for (int c = 0; c < mallsOfClass.Length; c++)
        {
            mallsOfClass[c] = malls.Where(m => m.Classes.Contains(c)).ToList();
        }
        return mallsOfClass;
    }

    /// <summary>
    /// The first <paramref name="perClass"/> images of each class some mall sells (position in the file, label, ordinal
    /// within its class), and the position of the first image of the query class after them: the held-out query.
    /// </summary>
    private static (List<(int Position, int Label, int Ordinal)> Rows, int Query) SelectRows(
        byte[] labels, List<DemoMall>[] mallsOfClass, int perClass, int queryClass, string source)
    {
        var seen = new int[FashionMnist.ClassNames.Count];
        var rows = new List<(int Position, int Label, int Ordinal)>();
        int query = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            int ordinal = seen[label]++;
            if (ordinal < perClass)
            {
                if (mallsOfClass[label].Count > 0)
                {
                    rows.Add((i, label, ordinal));
                }
            }
            else if (label == queryClass && query < 0)
            {
                query = i;
            }
        }

        int maxPerClass = seen.Min() - 1;
        if (query < 0 || perClass > maxPerClass)
        {
            throw new ArgumentOutOfRangeException(
                nameof(perClass), perClass,
                $"At most {maxPerClass} per class from {source}: one test image must stay out of the catalog as the query.");
        }
        return (rows, query);
    }

    /// <summary>Writes each row's PNG into <paramref name="imageDir"/>, counts it for its mall, and returns the manifest text.</summary>
    private static string WriteRows(
        List<(int Position, int Label, int Ordinal)> rows, IdxImages images, int[] sourceIndex, List<DemoMall>[] mallsOfClass,
        Dictionary<string, int> perMall, string imageDir, DemoCatalogOptions options)
    {
        Directory.CreateDirectory(imageDir);
        var manifest = new StringBuilder().Append(ManifestHeader).Append('\n');
        foreach (var (position, label, ordinal) in rows)
        {
            int index = sourceIndex[position];
            var candidates = mallsOfClass[label];
            var mall = candidates[ordinal % candidates.Count];
            perMall[mall.Id]++;

            string name = $"t10k-{index:D5}.png";
            File.WriteAllBytes(Path.Combine(imageDir, name), RenderPng(images[position], images.Columns, images.Rows, options));

            string className = FashionMnist.ClassNames[label];
            manifest.AppendJoin(',', [
                $"images/{name}",
                mall.Id,
                "", // Fashion-MNIST has no style labels; the style head predicts them.
                Csv($"{className} #{ordinal + 1}"),
                $"{mall.Url}item/t10k-{index:D5}",
                Price(index, label).ToString(CultureInfo.InvariantCulture),
                mall.Url,
                Csv(className),
                index.ToString(CultureInfo.InvariantCulture),
            ]).Append('\n');
        }
        return manifest.ToString();
    }

    private static string Readme(FashionMnist data, int rows, int perClass, int queryIndex, int queryLabel, DemoCatalogOptions options) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            Otchatsa demo catalog — generated, do not edit.
            Images: Fashion-MNIST test split (t10k), Zalando Research, MIT licence, https://github.com/zalandoresearch/fashion-mnist
            Data source: {data.SourceDescription}
            {rows} catalog images ({perClass} per class, the first ones in file order), {options.ImageSize} px{(options.Invert ? ", inverted to dark-on-white" : "")}.
            query.png = t10k image {queryIndex} ({FashionMnist.ClassNames[queryLabel]}), not in the catalog.
            Malls, titles, prices and links are fictional; style is empty because Fashion-MNIST has no style labels.

            """);

    /// <summary>Renders one 8-bit grayscale image as an opaque RGB PNG of <see cref="DemoCatalogOptions.ImageSize"/> px.</summary>
    internal static byte[] RenderPng(ReadOnlySpan<byte> gray, int width, int height, DemoCatalogOptions options)
    {
        using var source = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> target = source.GetPixelSpan();
        for (int i = 0; i < gray.Length; i++)
        {
            target[i] = options.Invert ? (byte)(255 - gray[i]) : gray[i];
        }

        int size = options.ImageSize;
        using var output = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(output))
        using (var image = SKImage.FromBitmap(source))
        {
            // Cubic rather than nearest: 4× nearest-neighbour blocks look like pixel art, not a photo.
            canvas.DrawImage(image, new SKRect(0, 0, size, size), new SKSamplingOptions(SKCubicResampler.Mitchell));
        }

        using var data = output.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static int Price(int index, int label)
    {
        // SplitMix64 of the image index: stable across runs and .NET versions (unlike string.GetHashCode).
        ulong z = (ulong)index + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        var (min, max) = PriceBands[label];
        int steps = (max - min) / 1000;
        return min + (int)(z % (ulong)(steps + 1)) * 1000;
    }

    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void WriteAtomically(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, path, overwrite: true);
    }
}
