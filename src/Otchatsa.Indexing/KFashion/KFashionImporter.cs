using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Otchatsa.KFashion;

/// <summary>One manifest row produced by <see cref="KFashionImporter"/>.</summary>
public sealed record KFashionRow(
    string Image,
    string Label,
    string Mall,
    string Product,
    string Style,
    string? Substyle,
    IReadOnlyList<string> Garments,
    int Width,
    int Height,
    int OriginalWidth,
    int OriginalHeight,
    string OriginalFileName);

/// <summary>What an import found: rows written and label files skipped (with why).</summary>
public sealed record KFashionImportSummary(int Labels, int Rows, IReadOnlyDictionary<string, int> Skipped, IReadOnlyList<string> Examples);

/// <summary>
/// Turns an AI Hub K-Fashion download (label JSON files and photos, in any folder layout) into a catalog manifest:
/// <c>image,label,mall,product,style,substyle,garments,width,height,original_width,original_height,original_file_name</c>.
/// A label is paired with the photo of the same file stem (<c>123.json</c> ↔ <c>123.jpg</c>) anywhere under the root;
/// the mall and product come from the original file name recorded in the label (<see cref="KFashionFileName"/>).
/// </summary>
public static class KFashionImporter
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp"];

    public static (IReadOnlyList<KFashionRow> Rows, KFashionImportSummary Summary) Read(string root, string outputDirectory)
    {
        var fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot))
        {
            throw new DirectoryNotFoundException($"No folder at '{root}'.");
        }
        var images = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var labels = new List<string>();
        foreach (var file in Directory.EnumerateFiles(fullRoot, "*", SearchOption.AllDirectories))
        {
            var ext = Path.GetExtension(file).ToLowerInvariant();
            if (ext == ".json")
            {
                labels.Add(file);
            }
            else if (ImageExtensions.Contains(ext))
            {
                images.TryAdd(Path.GetFileNameWithoutExtension(file), file);
            }
        }
        labels.Sort(StringComparer.Ordinal);

        var skipped = new Dictionary<string, int>(StringComparer.Ordinal);
        var examples = new List<string>();
        void Skip(string file, string reason, string message)
        {
            skipped[reason] = skipped.GetValueOrDefault(reason) + 1;
            if (examples.Count < 20)
            {
                examples.Add($"{Path.GetRelativePath(fullRoot, file)}: {message}");
            }
        }

        var rows = new List<KFashionRow>();
        foreach (var labelPath in labels)
        {
            KFashionLabel label;
            try
            {
                label = KFashionLabel.Read(labelPath);
            }
            catch (Exception ex) when (ex is InvalidDataException or System.Text.Json.JsonException)
            {
                Skip(labelPath, "not_a_label", ex.Message);
                continue;
            }
            if (!images.TryGetValue(Path.GetFileNameWithoutExtension(labelPath), out var imagePath))
            {
                Skip(labelPath, "no_image", "no photo with the same name");
                continue;
            }
            using var codec = SKCodec.Create(imagePath);
            if (codec is null)
            {
                Skip(labelPath, "unreadable_image", $"{Path.GetFileName(imagePath)} is not a readable image");
                continue;
            }
            var (mall, product) = KFashionFileName.Parse(label.FileName);
            rows.Add(new KFashionRow(
                Relative(outputDirectory, imagePath),
                Relative(outputDirectory, labelPath),
                mall,
                product,
                label.Style,
                label.Substyle,
                label.Garments,
                codec.Info.Width,
                codec.Info.Height,
                label.Width,
                label.Height,
                label.FileName));
        }
        return (rows, new KFashionImportSummary(labels.Count, rows.Count, skipped, examples));
    }

    /// <summary>Reads <paramref name="root"/> and writes the manifest to <paramref name="outCsv"/> (paths relative to it).</summary>
    public static KFashionImportSummary Import(string root, string outCsv)
    {
        var outDir = Path.GetDirectoryName(Path.GetFullPath(outCsv))!;
        var (rows, summary) = Read(root, outDir);
        Directory.CreateDirectory(outDir);
        var temp = outCsv + ".tmp";
        using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false)))
        {
            writer.Write("image,label,mall,product,style,substyle,garments,width,height,original_width,original_height,original_file_name\n");
            foreach (var r in rows)
            {
                writer.Write(string.Join(",",
                    Csv(r.Image), Csv(r.Label), Csv(r.Mall), Csv(r.Product), Csv(r.Style), Csv(r.Substyle ?? ""),
                    Csv(string.Join("|", r.Garments)),
                    r.Width.ToString(CultureInfo.InvariantCulture), r.Height.ToString(CultureInfo.InvariantCulture),
                    r.OriginalWidth.ToString(CultureInfo.InvariantCulture), r.OriginalHeight.ToString(CultureInfo.InvariantCulture),
                    Csv(r.OriginalFileName)));
                writer.Write('\n');
            }
        }
        File.Move(temp, outCsv, overwrite: true);
        return summary;
    }

    private static string Relative(string baseDir, string path) => Path.GetRelativePath(baseDir, path).Replace('\\', '/');

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
