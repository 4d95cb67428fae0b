using System.Text;
using CsvHelper;

namespace Otchatsa.Indexing;

/// <summary>
/// Reads a catalog manifest: a CSV with a header row (UTF-8, with or without BOM, RFC 4180 quoting).
/// Required columns: <c>image</c>, <c>mall</c>. Optional: <c>style</c>, <c>substyle</c>, <c>title</c>, <c>url</c>,
/// <c>price</c>, <c>mall_url</c>, <c>product</c>, <c>garments</c>. Other columns are ignored; header names are
/// matched case-insensitively.
/// </summary>
/// <remarks>
/// Problems with a single row never abort the read: the row comes back with <see cref="CatalogRow.Rejection"/> set,
/// so the index build can report it as skipped. Only file-level problems (missing file, missing required column,
/// malformed CSV) throw <see cref="CatalogManifestException"/>.
/// Relative image paths are resolved against the CSV's folder. A path that climbs out of that folder with <c>..</c>,
/// or an absolute path, is accepted: the manifest is the operator's own file, so it is trusted as much as the
/// command line that names it. URLs are a different matter, because they may be fetched from anywhere: only
/// http and https are accepted.
/// </remarks>
public static class CatalogManifest
{
    /// <summary>Column names the reader understands (lower case).</summary>
    public static IReadOnlyList<string> KnownColumns { get; } =
        ["image", "mall", "style", "substyle", "title", "url", "price", "mall_url", "product", "garments"];

    private static readonly string[] RequiredColumns = ["image", "mall"];

    /// <summary>Reads the manifest at <paramref name="csvPath"/>; relative image paths are resolved against its folder.</summary>
    /// <exception cref="CatalogManifestException">The file is missing, malformed or lacks a required column.</exception>
    public static IReadOnlyList<CatalogRow> Read(string csvPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(csvPath);
        var fullPath = Path.GetFullPath(csvPath);
        if (!File.Exists(fullPath))
            throw new CatalogManifestException(fullPath, $"catalog manifest not found: {fullPath}");

        using var reader = new StreamReader(fullPath, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        return Read(reader, Path.GetDirectoryName(fullPath)!, fullPath);
    }

    /// <summary>Reads a manifest from <paramref name="reader"/>; relative image paths are resolved against <paramref name="baseDirectory"/>.</summary>
    /// <param name="reader">The CSV text; a leading BOM is tolerated.</param>
    /// <param name="baseDirectory">Folder relative image paths are resolved against.</param>
    /// <param name="sourceName">Shown in error messages (usually the file path).</param>
    /// <exception cref="CatalogManifestException">The text is malformed or lacks a required column.</exception>
    public static IReadOnlyList<CatalogRow> Read(TextReader reader, string baseDirectory, string sourceName = "catalog manifest")
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        var baseDir = Path.GetFullPath(baseDirectory);

        var options = new CsvReaderOptions
        {
            HasHeader = true,
            SkipEmptyLines = true,
            // The default quietly "recovers" from a stray quote, which can swallow the rest of the file into one cell.
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
        };

        var rows = new List<CatalogRow>();
        try
        {
            using var csv = CsvReader.Create(reader, options, leaveOpen: true);
            var header = csv.Headers;
            if (header.Count == 0)
                throw new CatalogManifestException(sourceName, $"{sourceName} is empty: expected a header row with at least the columns image, mall");

            var columns = MapHeader(header);
            var missing = RequiredColumns.Where(c => !columns.ContainsKey(c)).ToArray();
            if (missing.Length > 0)
            {
                throw new CatalogManifestException(sourceName,
                    $"{sourceName} has no {string.Join(" or ", missing.Select(m => $"'{m}'"))} column " +
                    $"(required: image, mall; found: {string.Join(", ", header.Select(h => $"'{h}'"))})");
            }

            var record = new string?[columns.Count == 0 ? 0 : columns.Values.Max() + 1];
            while (csv.Read())
            {
                Array.Clear(record);
                for (var i = 0; i < record.Length && i < csv.FieldCount; i++)
                    record[i] = csv.GetStringOrNull(i);
                if (record.All(string.IsNullOrWhiteSpace))
                    continue;
                // +1 for the header row, so the number matches the row a spreadsheet shows.
                rows.Add(ParseRow(record, columns, checked((int)csv.RowNumber + 1), baseDir));
            }
        }
        catch (CsvFormatException ex)
        {
            throw new CatalogManifestException(sourceName,
                $"{sourceName} is not valid CSV (data record {ex.RecordNumber}): {FirstLine(ex.Message)}", ex);
        }

        return rows;
    }

    private static Dictionary<string, int> MapHeader(IReadOnlyList<string> header)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < header.Count; i++)
        {
            // A BOM survives when the caller hands us a TextReader that did not strip it.
            var name = header[i].Trim().TrimStart('\uFEFF').Trim().ToLowerInvariant();
            map.TryAdd(name, i);
        }
        return map;
    }

    private static CatalogRow ParseRow(string?[] record, Dictionary<string, int> columns, int rowNumber, string baseDir)
    {
        string? Cell(string name) =>
            columns.TryGetValue(name, out var i) && record[i] is { } value && !string.IsNullOrWhiteSpace(value)
                ? value.Trim()
                : null;

        var warnings = new List<string>();
        var image = Cell("image");
        string? resolved = null;
        Uri? url = null;
        string? rejection = null;

        if (image is null)
            rejection = "empty 'image' cell";
        else
            (resolved, url, rejection) = ResolveImage(image, baseDir);

        var row = new CatalogRow
        {
            RowNumber = rowNumber,
            Image = image ?? "",
            ResolvedPath = resolved,
            Url = url,
            Mall = Cell("mall"),
            Style = Cell("style"),
            Substyle = Cell("substyle"),
            Title = Cell("title"),
            ProductUrl = Link(Cell("url"), "url", warnings),
            Price = Cell("price"),
            MallUrl = Link(Cell("mall_url"), "mall_url", warnings),
            Product = Cell("product"),
            Garments = SplitGarments(Cell("garments")),
            Rejection = rejection,
        };
        return warnings.Count == 0 ? row : row with { Warnings = [.. warnings] };
    }

    /// <summary>Classifies an image cell as a local path or an http(s) URL.</summary>
    internal static (string? Path, Uri? Url, string? Rejection) ResolveImage(string image, string baseDir)
    {
        if (image.StartsWith("//", StringComparison.Ordinal) || image.StartsWith(@"\\", StringComparison.Ordinal))
            return (null, null, $"'{image}' is a protocol-relative or network path; write a full http(s) URL or a local path");

        var scheme = SchemeOf(image);
        if (scheme is not null)
        {
            if (scheme is not ("http" or "https"))
                return (null, null, $"unsupported URL scheme '{scheme}:' (only http and https images are fetched)");
            if (!Uri.TryCreate(image, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
                return (null, null, $"'{image}' is not a valid http(s) URL");
            return (null, uri, null);
        }

        try
        {
            // Manifests written on Windows use backslashes; on Unix they would otherwise be part of the file name.
            var relative = Path.DirectorySeparatorChar == '/' ? image.Replace('\\', '/') : image;
            return (Path.GetFullPath(Path.Combine(baseDir, relative)), null, null);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return (null, null, $"'{image}' is not a valid file path ({ex.Message})");
        }
    }

    /// <summary>
    /// The lower-case URL scheme, or null for a path. One-letter schemes are Windows drive letters (C:\…), not URLs.
    /// </summary>
    private static string? SchemeOf(string value)
    {
        var colon = value.IndexOf(':');
        if (colon < 2)
            return null;
        if (!char.IsAsciiLetter(value[0]))
            return null;
        for (var i = 1; i < colon; i++)
        {
            var c = value[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.'))
                return null;
        }
        return value[..colon].ToLowerInvariant();
    }

    private static string? Link(string? value, string column, List<string> warnings)
    {
        if (value is null)
            return null;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0)
            return value;
        // Links end up as buttons in chats: anything but http(s) (javascript:, file:, relative) is dropped.
        warnings.Add($"'{column}' value '{value}' is not an absolute http(s) URL and was dropped");
        return null;
    }

    private static string[] SplitGarments(string? value) =>
        value is null ? [] : value.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}

/// <summary>A catalog manifest that cannot be read at all (as opposed to a single bad row).</summary>
public sealed class CatalogManifestException : Exception
{
    public CatalogManifestException(string source, string message, Exception? inner = null) : base(message, inner)
    {
        ManifestPath = source;
    }

    /// <summary>The manifest path (or the name given to <see cref="CatalogManifest.Read(TextReader, string, string)"/>).</summary>
    public string ManifestPath { get; }
}
