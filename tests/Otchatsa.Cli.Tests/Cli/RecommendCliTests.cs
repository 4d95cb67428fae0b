using System.Text.Json;
using Otchatsa.Tests.Imaging;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Cli;

public sealed class RecommendCliTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Recommend_json_prints_one_contract_line_per_photo_and_exits_2_when_one_failed()
    {
        using var temp = new TempFolder("otchatsa-cli-");
        var dir = temp.Path;
        var text = Path.Combine(dir, "notes.jpg");
        await File.WriteAllTextAsync(text, "this is not a photo");

        var result = await CliProcess.RunAsync(Timeout, "recommend", "--index", DemoIndex.Directory, "--json", DemoIndex.QueryImage, text);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(2, result.Lines.Length);
        using var ok = JsonDocument.Parse(result.Lines[0]);
        var root = ok.RootElement;
        Assert.Equal(
            ["image", "ok", "error", "person", "style", "top_styles", "malls", "timings_ms"],
            root.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(DemoIndex.QueryImage, root.GetProperty("image").GetString());
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        var person = root.GetProperty("person");
        Assert.Equal(4, person.GetProperty("box").GetArrayLength());
        Assert.InRange(person.GetProperty("coverage").GetDouble(), 0, 1);
        var malls = root.GetProperty("malls").EnumerateArray().ToArray();
        Assert.Equal(3, malls.Length);
        Assert.Equal(3, malls.Select(m => m.GetProperty("mall").GetString()).Distinct().Count());
        foreach (var mall in malls)
        {
            Assert.Equal(["mall", "score", "style_share", "url", "items"], mall.EnumerateObject().Select(p => p.Name).ToArray());
            var items = mall.GetProperty("items").EnumerateArray().ToArray();
            Assert.Equal(3, items.Length);
            Assert.All(items, i => Assert.Equal(
                ["image", "title", "url", "price", "similarity"], i.EnumerateObject().Select(p => p.Name).ToArray()));
            var sims = items.Select(i => i.GetProperty("similarity").GetDouble()).ToArray();
            Assert.All(sims, s => Assert.InRange(s, -1, 1));
        }
        Assert.Equal(
            ["decode", "segment", "embed", "classify", "search", "total"],
            root.GetProperty("timings_ms").EnumerateObject().Select(p => p.Name).ToArray());

        using var failed = JsonDocument.Parse(result.Lines[1]);
        var bad = failed.RootElement;
        Assert.False(bad.GetProperty("ok").GetBoolean());
        Assert.Equal("not_an_image", bad.GetProperty("error").GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(bad.GetProperty("error").GetProperty("message").GetString()));
        foreach (var field in new[] { "person", "style", "top_styles", "malls", "timings_ms" })
        {
            Assert.Equal(JsonValueKind.Null, bad.GetProperty(field).ValueKind);
        }
    }

    [Fact]
    public async Task Every_file_of_the_bad_image_corpus_gets_the_right_line_without_a_crash_and_under_1_GB()
    {
        using var temp = new TempFolder("otchatsa-corpus-");
        var dir = temp.Path;
        var entries = BadImageCorpus.WriteTo(dir);
        Assert.True(entries.Count >= 25);

        var result = await CliProcess.RunAsync(Timeout, ["recommend", "--index", DemoIndex.Directory, "--json", .. entries.Select(e => e.Path!)]);

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.StdErr}");
        Assert.DoesNotContain("Unhandled exception", result.StdErr);
        Assert.Equal(entries.Count, result.Lines.Length);
        for (var i = 0; i < entries.Count; i++)
        {
            using var line = JsonDocument.Parse(result.Lines[i]);
            var root = line.RootElement;
            var entry = entries[i];
            Assert.Equal(entry.Path, root.GetProperty("image").GetString());
            if (entry.ShouldDecode)
            {
                Assert.True(root.GetProperty("ok").GetBoolean(), $"{entry.FileName}: {result.Lines[i]}");
                var box = root.GetProperty("person").GetProperty("box").EnumerateArray().Select(v => v.GetInt32()).ToArray();
                Assert.True(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= entry.Width && box[1] + box[3] <= entry.Height,
                    $"{entry.FileName}: box {string.Join(',', box)} outside {entry.Width}×{entry.Height}");
                Assert.Equal(3, root.GetProperty("malls").GetArrayLength());
            }
            else
            {
                Assert.False(root.GetProperty("ok").GetBoolean(), entry.FileName);
                Assert.Equal(entry.ExpectedWireCode, root.GetProperty("error").GetProperty("code").GetString());
            }
        }
        Assert.True(result.PeakWorkingSetBytes < 1L << 30, $"peak working set {result.PeakWorkingSetBytes >> 20} MB");
    }

    [Fact]
    public async Task A_missing_index_is_one_clear_line_and_exit_code_4()
    {
        var result = await CliProcess.RunAsync(Timeout, "recommend", "--index", "/nonexistent/index", "--json", DemoIndex.QueryImage);
        Assert.Equal(4, result.ExitCode);
        Assert.Empty(result.StdOut);
        Assert.Contains("otchatsa index build", result.StdErr);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
