using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using Otchatsa.Styles;

namespace Otchatsa.Tests.Recommendations;

/// <summary>Unlabelled catalog rows get the style as served by the 23-style head, so mall profiles and <c>seed</c> use it.</summary>
public sealed class PredictedStyleTests
{
    [SkippableFact]
    public async Task Unlabelled_outfits_get_a_predicted_style_from_the_head_and_count_in_their_malls_profile()
    {
        var root = Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "kfashion23");
        Skip.IfNot(File.Exists(Path.Combine(root, "manifest.csv")), "The 23-style K-Fashion sample (../shared/data/kfashion23) is not on this machine.");
        var photos = Directory.GetFiles(Path.Combine(root, "images"), "*.jpg").Order(StringComparer.Ordinal).Take(6).ToArray();
        var dir = Directory.CreateTempSubdirectory("otchatsa-predicted-").FullName;
        try
        {
            var csv = Path.Combine(dir, "manifest.csv");
            await File.WriteAllLinesAsync(csv, ["image,mall,style", .. photos.Select((p, i) => $"{p},mall-{i % 2},{(i < 2 ? "romantic" : "")}")]);
            using var engine = new OutfitEngine(ModelPaths.Locate());

            var summary = await new IndexBuilder(engine).BuildAsync(csv, Path.Combine(dir, "index"), view => StyleClassifiers.For(engine, view));

            Assert.Equal(4, summary.PredictedStyles);
            using var runtime = OtchatsaRuntime.Open(Path.Combine(dir, "index"));
            Assert.Equal(6, runtime.Index.Malls.Values.Sum(m => m.StyleCounts.Values.Sum()));
            Assert.All(runtime.Index.Items.Where(i => !i.StyleIsLabel), i => Assert.NotNull(i.Style));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
