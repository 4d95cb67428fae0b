using System.Text.Json;
using Otchatsa.Tests.Support;
using Otchatsa.Vision;

namespace Otchatsa.Tests.Cli;

public sealed class IndexAndDemoCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task Index_build_indexes_good_rows_skips_bad_ones_with_reasons_and_records_models_in_index_json()
    {
        using var temp = new TempFolder("otchatsa-build-");
        var dir = temp.Path;
        var source = Path.GetDirectoryName(DemoIndex.Manifest)!;
        var rows = File.ReadAllLines(DemoIndex.Manifest).Skip(1).Take(8)
            .Select(line => line.Split(',')).Select(f => $"{Path.Combine(source, f[0])},{f[1]},,{f[3]}").ToList();
        await File.WriteAllTextAsync(Path.Combine(dir, "notes.jpg"), "not a photo");
        rows.Add("notes.jpg,demo-tops,,Broken");
        rows.Add("missing.jpg,demo-tops,,Missing");
        rows.Add("ftp://example.invalid/x.jpg,demo-tops,,Bad scheme");
        var manifest = Path.Combine(dir, "manifest.csv");
        await File.WriteAllLinesAsync(manifest, ["image,mall,style,title", .. rows]);
        var outDir = Path.Combine(dir, "index");

        var result = await CliProcess.RunAsync(Timeout, "index", "build", "--catalog", manifest, "--out", outDir);

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("8 of 11 photos indexed, 3 skipped", result.StdErr.ReplaceLineEndings(" ").Replace("  ", " "));
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(outDir, "index.json")));
        var root = json.RootElement;
        Assert.Equal(8, root.GetProperty("item_count").GetInt32());
        Assert.Equal(3, root.GetProperty("skipped_count").GetInt32());
        Assert.Equal(Otchatsa.Pipeline.EmbeddingSettings.Default.Name, root.GetProperty("embedding_view").GetString());
        Assert.Equal(Otchatsa.Pipeline.EmbeddingSettings.Default.Dimensions, root.GetProperty("dims").GetInt32());
        var roles = root.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("role").GetString()!).ToArray();
        Assert.Equal(["embedding", "segmenter"], roles);
        Assert.Contains("not_an_image", root.GetProperty("skipped_by_reason").EnumerateObject().Select(p => p.Name));
        Assert.Empty(Directory.GetDirectories(dir, "index.tmp-*"));
    }

    [Fact]
    public async Task An_index_built_with_other_model_weights_is_refused_with_a_rebuild_hint()
    {
        using var temp = new TempFolder("otchatsa-stale-");
        var dir = temp.Path;
        foreach (var file in Directory.GetFiles(DemoIndex.Directory))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }
        var indexJson = Path.Combine(dir, "index.json");
        var text = await File.ReadAllTextAsync(indexJson);
        using (var doc = JsonDocument.Parse(text))
        {
            var sha = doc.RootElement.GetProperty("models")[0].GetProperty("sha256").GetString()!;
            await File.WriteAllTextAsync(indexJson, text.Replace(sha, new string('0', sha.Length)));
        }

        var result = await CliProcess.RunAsync(Timeout, "recommend", "--index", dir, "--json", DemoIndex.QueryImage);

        Assert.Equal(4, result.ExitCode);
        Assert.Empty(result.StdOut);
        Assert.Contains("embedding model", result.StdErr);
        Assert.Contains("otchatsa index build", result.StdErr);
    }

    [Fact]
    public async Task Demo_builds_its_index_once_answers_the_held_out_photo_and_writes_a_collage_with_an_empty_home()
    {
        using var temp = new TempFolder("otchatsa-demo-");
        var dir = temp.Path;
        // A new user's machine: empty HOME and caches, no Fashion-MNIST anywhere the demo might look.
        var home = Path.Combine(dir, "home");
        Directory.CreateDirectory(home);
        var fresh = new Dictionary<string, string?>
        {
            ["HOME"] = home,
            ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache"),
            ["OTCHATSA_CACHE"] = Path.Combine(dir, "cache"),
            ["OTCHATSA_FASHION_MNIST"] = null,
        };

        var first = await CliProcess.RunAsync(Timeout, fresh, "demo", "--dir", dir, "--per-class", "4", "--json");
        Assert.True(first.ExitCode == 0, first.StdErr);
        Assert.Contains("Index ready", first.StdErr);
        using var line = JsonDocument.Parse(first.Lines.Single());
        Assert.True(line.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(3, line.RootElement.GetProperty("malls").GetArrayLength());
        var collage = Path.Combine(dir, "demo-answer.png");
        var bytes = await File.ReadAllBytesAsync(collage);
        Assert.Equal((byte)0x89, bytes[0]);

        Assert.Contains("embedded subset", first.StdErr);
        Assert.Equal(9, line.RootElement.GetProperty("malls").EnumerateArray().Sum(m => m.GetProperty("items").GetArrayLength()));
        // The only thing a first run may leave in the user's cache is the int8 ResNet18 it builds from the package's
        // network and the committed card (models/); nothing downloaded, no Fashion-MNIST.
        var cache = Path.Combine(home, ".cache", "otchatsa");
        var cached = Directory.Exists(cache) ? Directory.GetDirectories(cache).Select(Path.GetFileName).ToArray() : [];
        Assert.True(cached.All(name => name == "models"), "the demo downloaded or cached something: " + string.Join(", ", cached));

        var second = await CliProcess.RunAsync(Timeout, fresh, "demo", "--dir", dir, "--per-class", "4");
        Assert.True(second.ExitCode == 0, second.StdErr);
        Assert.DoesNotContain("Index ready", second.StdErr);
        Assert.Contains("demo-answer.png", second.StdErr);

        // --full without the full data is one line saying where to put it, not a download crash.
        var full = await CliProcess.RunAsync(Timeout, new Dictionary<string, string?>(fresh) { ["OTCHATSA_FASHION_MNIST"] = Path.Combine(dir, "none") },
            "demo", "--dir", dir, "--full");
        Assert.Equal(1, full.ExitCode);
        var error = Assert.Single(full.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("without --full", error);
    }

    [Fact]
    public async Task Bench_prints_per_stage_percentiles_throughput_and_the_bare_cost_of_both_networks()
    {
        var result = await CliProcess.RunAsync(Timeout, "bench", "--images", DemoIndex.Manifest, "--index", DemoIndex.Directory, "--limit", "6", "--warmup", "1", "--raw", "2");

        Assert.True(result.ExitCode == 0, result.StdErr);
        foreach (var stage in new[] { "decode", "segment", "embed", "classify", "search", "total" })
        {
            Assert.Contains(stage, result.StdOut);
        }
        Assert.Contains("p50", result.StdOut);
        Assert.Contains("p95", result.StdOut);
        Assert.Contains("photos/s", result.StdOut);
        Assert.Contains("8 network input(s) per photo", result.StdOut); // the default view, crop+whole+halves/flip, with mirrors
        Assert.Contains(ResNetEmbedder.Int8Id, result.StdOut); // the demo index is built with the default embedder
        foreach (var bare in new[] { "fp32 batch 1 ", "fp32 batch 8 ", "fp32 batch 16 ", "int8 batch 1 ", "int8 batch 8 ", "int8 batch 16 " })
        {
            Assert.Contains(bare, result.StdOut);
        }
        Assert.Contains("int8 speed-up", result.StdOut);
        Assert.Contains("pipeline embed p50 / bare int8 cost of its 8 input(s)", result.StdOut);
        Assert.Contains("peak memory", result.StdOut);
    }

    [Fact]
    public async Task Models_quantize_calibrates_the_fashion_embedder_when_asked_and_refuses_a_network_exported_in_full()
    {
        using var folder = new TempFolder("otchatsa-quantize-");
        using var models = new FashionModels(seed: 3);
        var result = await CliProcess.RunAsync(Timeout, "models", "quantize", "--calibration", DemoIndex.Manifest, "--models", models.Path,
            "--embedder-model", "fashion", "--photos", "2", "--check", "2", "--out", folder.Path);
        Assert.True(result.ExitCode == 0, result.StdErr);
        var card = Otchatsa.Vision.Int8ModelCard.Load(folder.File(Otchatsa.Vision.Int8ModelCard.FileName));
        Assert.Equal(Otchatsa.Pipeline.ModelPaths.FashionId, card.SourceId);
        // The held-out check ran the int8 copy from the model cache: that throwaway network goes too.
        File.Delete(Path.Combine(ResNetModelFiles.CacheRoot, $"resnet18-int8-{card.ModelSha256[..16]}.onnx"));
        Assert.Contains("QLinearConv", result.StdOut);

        var full = folder.File("exported.onnx");
        File.Copy(folder.File("resnet18_int8.onnx"), full);
        var refused = await CliProcess.RunAsync(Timeout, "models", "quantize", "--calibration", DemoIndex.Manifest, "--embedder-model", full, "--out", folder.Path);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("not of a network exported in full", refused.StdErr);
        Assert.DoesNotContain("   at ", refused.StdErr);
    }
}
