using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Otchatsa.Demo;

/// <summary>
/// The demo's embedded data: the first <see cref="PerClass"/> images of every class of the Fashion-MNIST test split, in
/// file order, as gzipped IDX files plus each image's index in the official t10k file (<c>Demo/Data/</c>, embedded in
/// this assembly). <see cref="Write"/> regenerates the files from the full split
/// (<c>otchatsa demo --write-subset &lt;dir&gt; --full</c>).
/// </summary>
public sealed class FashionMnistSubset
{
    /// <summary>Test images kept per class: up to 80 catalog photos plus at least one held-out query per class.</summary>
    public const int PerClass = 81;

    /// <summary>The most catalog photos per class a demo catalog can take from the subset (one stays out as the query).</summary>
    public const int MaxCatalogPerClass = PerClass - 1;

    public const string ImagesFileName = "t10k-subset-images-idx3-ubyte.gz";
    public const string LabelsFileName = "t10k-subset-labels-idx1-ubyte.gz";
    public const string IndicesFileName = "t10k-subset-indices.txt";

    private const string ResourcePrefix = "Otchatsa.Demo.Data.";

    private static readonly Lazy<FashionMnistSubset> EmbeddedInstance = new(ReadEmbedded, LazyThreadSafetyMode.ExecutionAndPublication);

    private FashionMnistSubset(IdxImages images, byte[] labels, int[] sourceIndex)
    {
        Images = images;
        Labels = labels;
        SourceIndex = sourceIndex;
    }

    public IdxImages Images { get; }

    public byte[] Labels { get; }

    /// <summary>For each image, its index in the official <c>t10k-images-idx3-ubyte</c> file.</summary>
    public int[] SourceIndex { get; }

    /// <summary>The subset embedded in this assembly (read once).</summary>
    public static FashionMnistSubset LoadEmbedded() => EmbeddedInstance.Value;

    /// <summary>Reads a subset from the three files <see cref="Write"/> produced.</summary>
    public static FashionMnistSubset Read(string directory) => Parse(
        File.ReadAllBytes(Path.Combine(directory, ImagesFileName)),
        File.ReadAllBytes(Path.Combine(directory, LabelsFileName)),
        File.ReadAllText(Path.Combine(directory, IndicesFileName)),
        directory);

    /// <summary>
    /// Writes the subset of the full test split of <paramref name="full"/> into <paramref name="outDir"/>: the first
    /// <see cref="PerClass"/> images of each class in file order. Deterministic: the same data gives the same content.
    /// </summary>
    public static void Write(FashionMnist full, string outDir)
    {
        ArgumentNullException.ThrowIfNull(full);
        if (full.Origin == FashionMnistOrigin.Embedded)
        {
            throw new ArgumentException("The subset is written from the full test split, not from the embedded subset.", nameof(full));
        }

        var (images, labels) = full.Load(FashionMnistSplit.Test);
        var seen = new int[FashionMnist.ClassNames.Count];
        var keep = new List<int>();
        for (int i = 0; i < labels.Length; i++)
        {
            if (seen[labels[i]]++ < PerClass)
            {
                keep.Add(i);
            }
        }

        int size = images.Rows * images.Columns;
        var imageIdx = new byte[16 + keep.Count * size];
        BinaryPrimitives.WriteInt32BigEndian(imageIdx, IdxFile.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(imageIdx.AsSpan(4), keep.Count);
        BinaryPrimitives.WriteInt32BigEndian(imageIdx.AsSpan(8), images.Rows);
        BinaryPrimitives.WriteInt32BigEndian(imageIdx.AsSpan(12), images.Columns);
        var labelIdx = new byte[8 + keep.Count];
        BinaryPrimitives.WriteInt32BigEndian(labelIdx, IdxFile.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(labelIdx.AsSpan(4), keep.Count);
        var indices = new StringBuilder();
        for (int k = 0; k < keep.Count; k++)
        {
            images[keep[k]].CopyTo(imageIdx.AsSpan(16 + k * size, size));
            labelIdx[8 + k] = labels[keep[k]];
            indices.Append(keep[k].ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Directory.CreateDirectory(outDir);
        File.WriteAllBytes(Path.Combine(outDir, ImagesFileName), Gzip(imageIdx));
        File.WriteAllBytes(Path.Combine(outDir, LabelsFileName), Gzip(labelIdx));
        File.WriteAllText(Path.Combine(outDir, IndicesFileName), indices.ToString(), new UTF8Encoding(false));
    }

    private static FashionMnistSubset ReadEmbedded()
    {
        var assembly = typeof(FashionMnistSubset).Assembly;
        byte[] Resource(string name)
        {
            using var stream = assembly.GetManifestResourceStream(ResourcePrefix + name)
                ?? throw new InvalidDataException($"The embedded demo data {name} is missing from {assembly.GetName().Name}; rebuild otchatsa.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        return Parse(Resource(ImagesFileName), Resource(LabelsFileName), Encoding.UTF8.GetString(Resource(IndicesFileName)), "embedded demo data");
    }

    private static FashionMnistSubset Parse(byte[] imagesGz, byte[] labelsGz, string indicesText, string name)
    {
        var images = IdxFile.ReadImages(imagesGz, $"{name}/{ImagesFileName}");
        var labels = IdxFile.ReadLabels(labelsGz, $"{name}/{LabelsFileName}");
        int[] indices = indicesText.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => int.Parse(l, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        if (images.Count != labels.Length || labels.Length != indices.Length)
        {
            throw new InvalidDataException($"{name}: {images.Count} images, {labels.Length} labels and {indices.Length} source indices do not match.");
        }

        if (labels.Any(l => l >= FashionMnist.ClassNames.Count))
        {
            throw new InvalidDataException($"{name}: a label is not a Fashion-MNIST class (0–9).");
        }

        return new FashionMnistSubset(images, labels, indices);
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        return output.ToArray();
    }
}
