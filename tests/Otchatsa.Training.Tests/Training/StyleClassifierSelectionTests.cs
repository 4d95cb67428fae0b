using Otchatsa.Catalog;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Tests.Training;
using Otchatsa.Training;

namespace Otchatsa.Tests.Recommendations;

public sealed class StyleClassifierSelectionTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("otchatsa-head-");

    public void Dispose() => _dir.Delete(recursive: true);

    private ModelPaths WithHead(string trainedView, int dims, Func<OutfitEngine, IReadOnlyList<ModelFingerprint>>? models = null)
    {
        var located = ModelPaths.Locate();
        var headPath = Path.Combine(_dir.FullName, "style_head.onnx");
        var trained = StyleHeadTrainer.Train(StyleHeadTrainerTests.Clusters(45, dims, seed: 5));
        File.WriteAllBytes(headPath, StyleHeadOnnx.ToOnnx(trained.Head, trainedView));
        var paths = located with { StyleHead = headPath };
        using var probe = new OutfitEngine(paths, EmbeddingSettings.Parse(trainedView));
        new StyleHeadCard
        {
            Classes = trained.Head.Classes.Select(c => new CardClass(c.Id, c.NameKo, c.NameEn, 45, 0)).ToArray(),
            EmbeddingView = trainedView,
            Dims = dims,
            Models = models?.Invoke(probe) ?? IndexManifest.Expected(probe).Models,
            Data = new CardData("synthetic", "", 135, 135),
            Trainer = new CardTrainer("test", 1, 0, true, 40),
        }.Save(StyleHeadCard.PathFor(headPath));
        return paths;
    }

    [Fact]
    public void The_trained_head_serves_an_engine_with_the_view_it_was_trained_on()
    {
        var paths = WithHead("crop", 512);
        using var engine = new OutfitEngine(paths, EmbeddingSettings.Parse("crop"));

        using var head = StyleClassifiers.TryLoadHead(engine, out var reason);

        Assert.NotNull(head);
        Assert.Equal(["romantic", "resort", "retro"], head!.Classes.Select(c => c.Id));
    }

    [Fact]
    public void Another_view_falls_back_to_the_neighbour_vote_with_a_reason()
    {
        var paths = WithHead("crop", 512);
        using var engine = new OutfitEngine(paths, EmbeddingSettings.Parse("whole"));

        var head = StyleClassifiers.TryLoadHead(engine, out var reason);

        Assert.Null(head);
        Assert.Contains("'crop'", reason);
    }

    [Fact]
    public void A_head_trained_with_other_models_is_not_served()
    {
        var paths = WithHead("crop", 512, e => IndexManifest.Expected(e).Models.Select(m => m with { Sha256 = "0" }).ToArray());
        using var engine = new OutfitEngine(paths, EmbeddingSettings.Parse("crop"));

        Assert.Null(StyleClassifiers.TryLoadHead(engine, out var reason));
        Assert.Contains("model", reason);
    }
}
