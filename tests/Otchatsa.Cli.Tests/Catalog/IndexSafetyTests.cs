using Microsoft.Data.Sqlite;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Tests.Support;
using Otchatsa.Web;

namespace Otchatsa.Tests.Catalog;

/// <summary>A good index is never lost or replaced by a worse one; an unusable index is a clear error.</summary>
public sealed class IndexSafetyTests : IDisposable
{
    public static TheoryData<string> CrashPoints => new(AtomicDirectory.CommitSteps);

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string CopyOfDemoIndex(string name)
    {
        var target = _dir.File(name);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(DemoIndex.Directory))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return target;
    }

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public void A_build_killed_mid_swap_leaves_a_complete_index_for_the_next_open(string step)
    {
        var target = CopyOfDemoIndex("index");
        File.WriteAllText(Path.Combine(target, "generation.txt"), "old");
        using (var build = AtomicDirectory.Begin(target))
        {
            foreach (var file in Directory.GetFiles(DemoIndex.Directory))
            {
                File.Copy(file, Path.Combine(build.WorkPath, Path.GetFileName(file)));
            }
            File.WriteAllText(Path.Combine(build.WorkPath, "generation.txt"), "new");
            build.AfterStep = s => { if (s == step) throw new IOException("simulated crash"); };
            Assert.Throws<IOException>(build.Commit);
        }

        using var index = CatalogIndex.Open(target, IndexManifest.Expected(DemoIndex.Runtime.Engine));

        Assert.Equal(DemoIndex.Runtime.Index.Items.Count, index.Items.Count);
        Assert.Equal("new", File.ReadAllText(Path.Combine(target, "generation.txt"))); // the swap was completed
        Assert.Equal(["index"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_build_whose_rows_all_fail_keeps_the_old_index_and_exits_3_with_the_reasons()
    {
        var good = CopyOfDemoIndex("GOOD");
        var before = File.ReadAllBytes(Path.Combine(good, IndexManifest.FileName));
        var catalog = _dir.File("a.csv");
        File.WriteAllText(catalog, "image,mall\nmissing.jpg,m\n");

        var result = await CliProcess.RunAsync(Timeout, "index", "build", "--catalog", catalog, "--out", good);

        Assert.Equal(3, result.ExitCode);
        var last = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        Assert.StartsWith("otchatsa: index not built: only 0 of 1 photos", last);
        Assert.Contains("fetch_notfound", last);
        Assert.Contains("is unchanged", last);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(good, IndexManifest.FileName)));
        Assert.Equal(["GOOD", "a.csv"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_empty_index_is_a_clear_error_for_the_cli_and_not_ready_for_the_web_page()
    {
        var empty = CopyOfDemoIndex("empty");
        using (var db = new SqliteConnection($"Data Source={Path.Combine(empty, CatalogStore.FileName)};Pooling=False"))
        {
            db.Open();
            using var delete = db.CreateCommand();
            delete.CommandText = "DELETE FROM items";
            delete.ExecuteNonQuery();
        }

        var result = await CliProcess.RunAsync(Timeout, "recommend", "--index", empty, "--json", DemoIndex.QueryImage);

        Assert.Equal(4, result.ExitCode);
        Assert.Empty(result.StdOut);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("holds no photos", line);
        Assert.Contains("otchatsa index build", line);

        var runtime = new WebRuntime(() => OtchatsaRuntime.Open(empty));
        await using var host = await Web.WebTestHost.StartAsync(runtime: runtime);
        Assert.Null(await runtime.Loaded);
        using var health = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("holds no photos", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Intranet_photos_are_refused_with_a_hint_and_indexed_with_allow_private_networks()
    {
        var photo = File.ReadAllBytes(DemoIndex.QueryImage);
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 200, photo, ct, "Content-Type: image/png"));
        var catalog = _dir.File("intranet.csv");
        File.WriteAllText(catalog, $"image,mall\n{server.Url("/a.png")},intranet-mall\n");
        var outDir = _dir.File("intranet-index");

        var refused = await CliProcess.RunAsync(Timeout, "index", "build", "--catalog", catalog, "--out", outDir);

        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("--allow-private-networks", refused.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
        Assert.Equal(0, server.TotalRequests);

        var allowed = await CliProcess.RunAsync(Timeout, "index", "build", "--catalog", catalog, "--out", outDir, "--allow-private-networks");

        Assert.True(allowed.ExitCode == 0, allowed.StdErr);
        Assert.Contains("1 of 1 photos indexed", allowed.StdErr.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal));
    }
}
