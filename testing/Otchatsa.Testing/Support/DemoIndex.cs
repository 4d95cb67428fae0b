using Otchatsa.Catalog;
using Otchatsa.Demo;
using System.Reflection;
using Otchatsa.Hosting;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using Xunit.Abstractions;
using Xunit.Sdk;


namespace Otchatsa.Tests.Support;

/// <summary>
/// xUnit's own framework plus one end-of-run step: deleting the shared <see cref="DemoIndex"/>. It runs before the
/// assembly reports itself finished: the test host is killed soon after, so neither a ProcessExit handler nor the
/// framework's (asynchronous) Dispose is sure to run.
/// </summary>
public sealed class CleanupTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        protected override void RunTestCases(
            IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions) =>
            _ = RunAsync(testCases, executionMessageSink, executionOptions);

        private async Task RunAsync(
            IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        {
            using var runner = new Runner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class Runner(
        ITestAssembly testAssembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnosticMessageSink,
        IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        : XunitTestAssemblyRunner(testAssembly, testCases, diagnosticMessageSink, executionMessageSink, executionOptions)
    {
        protected override async Task BeforeTestAssemblyFinishedAsync()
        {
            DemoIndex.DeleteIfBuilt();
            await base.BeforeTestAssemblyFinishedAsync();
        }
    }
}

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

    private sealed record Built(string Root, string IndexDir, string Manifest, string Query, Lazy<OtchatsaRuntime> Runtime);

    /// <summary>Closes the runtime and deletes the index folder, if this run built them (at the end of the run).</summary>
    public static void DeleteIfBuilt()
    {
        if (!Instance.IsValueCreated)
        {
            return;
        }

        if (Instance.Value.Runtime.IsValueCreated)
        {
            Instance.Value.Runtime.Value.Dispose();
        }

        TempFolder.Delete(Instance.Value.Root);
    }

    private static Built BuildOnce()
    {
        var root = Path.Combine(Path.GetTempPath(), $"otchatsa-tests-{Environment.ProcessId}");
        var catalog = FashionMnist.Embedded().WriteDemoCatalog(Path.Combine(root, "catalog"), PerClass);
        var indexDir = Path.Combine(root, "index");
        using (var engine = new OutfitEngine(ModelPaths.Locate()))
        {
            new IndexBuilder(engine).BuildAsync(catalog.ManifestPath, indexDir).GetAwaiter().GetResult();
        }
        return new Built(root, indexDir, catalog.ManifestPath, catalog.QueryImagePath,
            new Lazy<OtchatsaRuntime>(() => OtchatsaRuntime.Open(indexDir), LazyThreadSafetyMode.ExecutionAndPublication));
    }
}
