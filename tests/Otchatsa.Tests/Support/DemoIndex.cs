using Otchatsa.Catalog;
using Otchatsa.Demo;
using Otchatsa.Hosting;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;

namespace Otchatsa.Tests.Support;

/// <summary>
/// A small real index (the embedded Fashion-MNIST demo subset, a few photos per class, real models) built once per test run and
/// shared by every test that needs to answer photos. Tests must not modify it.
/// </summary>
public static class DemoIndex
{
    public const int PerClass = 6;

    private static readonly Lazy<Built> Instance = new(BuildOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Folder of the built index.</summary>
    public static string Directory => Instance.Value.IndexDir;

    /// <summary>The demo catalog's manifest.csv.</summary>
    public static string Manifest => Instance.Value.Manifest;

    /// <summary>A held-out Fashion-MNIST photo (PNG) that is not in the catalog.</summary>
    public static string QueryImage => Instance.Value.Query;

    /// <summary>One runtime (models + index) shared by all tests; thread-safe like in production.</summary>
    public static OtchatsaRuntime Runtime => Instance.Value.Runtime.Value;

    private sealed record Built(string IndexDir, string Manifest, string Query, Lazy<OtchatsaRuntime> Runtime);

    private static Built BuildOnce()
    {
        var root = Path.Combine(Path.GetTempPath(), $"otchatsa-tests-{Environment.ProcessId}");
        var catalog = FashionMnist.Embedded().WriteDemoCatalog(Path.Combine(root, "catalog"), PerClass);
        var indexDir = Path.Combine(root, "index");
        using (var engine = new OutfitEngine(ModelPaths.Locate()))
        {
            new IndexBuilder(engine).BuildAsync(catalog.ManifestPath, indexDir).GetAwaiter().GetResult();
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return new Built(indexDir, catalog.ManifestPath, catalog.QueryImagePath,
            new Lazy<OtchatsaRuntime>(() => OtchatsaRuntime.Open(indexDir), LazyThreadSafetyMode.ExecutionAndPublication));
    }
}
