using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;
using Otchatsa.Training;

namespace Otchatsa.Tests.Recommendations;

public sealed class DefaultHeadTests
{
    private static string HeadPath => Path.Combine(TestPaths.RepoRoot, "models", "style_head.onnx");

    [Fact]
    public void The_committed_head_names_all_23_styles_with_the_examples_and_calibration_its_card_lists()
    {
        var card = StyleHeadCard.Load(StyleHeadCard.PathFor(HeadPath));
        using var head = OnnxStyleHead.Load(HeadPath);

        Assert.Equal(Otchatsa.Styles.StyleTaxonomy.All.Select(s => s.Id), head.Classes.Select(c => c.Id));
        Assert.Equal(card.Classes.Select(c => c.Id), head.Classes.Select(c => c.Id));
        Assert.All(card.Classes, c => Assert.True(c.Examples >= card.Trainer.MinExamplesPerClass, $"{c.Id}: {c.Examples}"));
        Assert.All(card.Classes, c => Assert.Equal(c.Examples, head.Examples[c.Id]));
        Assert.Equal(card.EmbeddingView, head.EmbeddingView);
        Assert.NotNull(card.CrossValidation);
        Assert.NotNull(card.Calibration);
        Assert.Equal(card.Calibration!.UnsureBelow, head.UnsureBelow, 5);
        Assert.Equal(card.Calibration.OutfitThreshold, head.OutfitThreshold!.Value, 5);
    }

    [Fact]
    public void An_index_with_the_default_view_is_answered_by_the_head_and_only_its_styles_are_named()
    {
        var recommender = DemoIndex.Runtime.Recommender;

        var analysis = recommender.Engine.Analyze(File.ReadAllBytes(DemoIndex.QueryImage));
        var styles = recommender.Classifier.Classify(analysis.Embedding, recommender.Catalog.Search(analysis.Embedding, 64));
        var result = recommender.Recommend(analysis, Strategies.Create(null));

        Assert.Equal("head+neighbours", recommender.Classifier.Name);
        var known = recommender.Classifier.Classes.Select(c => c.Id).ToHashSet();
        Assert.NotEmpty(styles);
        Assert.All(styles, s => Assert.Contains(s.Style.Id, known));
        // The demo query is a Fashion-MNIST product shot: the served answer names no style at all.
        Assert.True(result.Recommendation.NotAnOutfit);
        Assert.Empty(result.Recommendation.TopStyles);
    }
}
