using Otchatsa.Numerics;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Training;

namespace Otchatsa.Tests.Training;

public sealed class StyleHeadTrainerTests
{
    private static readonly FashionStyle[] Styles = [StyleTaxonomy.Get("romantic"), StyleTaxonomy.Get("resort"), StyleTaxonomy.Get("retro")];

    /// <summary>Unit vectors scattered around one random centre per style, like embeddings of three looks.</summary>
    internal static List<StyleExample> Clusters(int perClass, int dims, int seed, float noise = 0.6f, int[]? counts = null, int sampleSeed = 0)
    {
        var random = new Random(seed);
        var centres = Styles.Select(_ => Enumerable.Range(0, dims).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        random = new Random(seed * 1000 + sampleSeed);
        var examples = new List<StyleExample>();
        for (var k = 0; k < Styles.Length; k++)
        {
            for (var i = 0; i < (counts?[k] ?? perClass); i++)
            {
                var v = centres[k].Select(c => c + noise * (float)(random.NextDouble() - 0.5)).ToArray();
                VectorMath.Normalize(v);
                examples.Add(new StyleExample(v, Styles[k], null));
            }
        }
        return examples;
    }

    [Fact]
    public void A_trained_head_separates_well_separated_styles()
    {
        var train = Clusters(60, 32, seed: 1);
        var test = Clusters(30, 32, seed: 1, sampleSeed: 1);
        var head = StyleHeadTrainer.Train(train).Head;

        var correct = test.Count(e => Styles[Array.IndexOf(head.Probabilities(e.Embedding), head.Probabilities(e.Embedding).Max())].Id == e.Style.Id);
        Assert.True(correct >= 0.9 * test.Count, $"{correct} of {test.Count} correct");
    }

    [Fact]
    public void The_onnx_export_gives_the_same_probabilities_as_ml_net()
    {
        var examples = Clusters(50, 48, seed: 2, noise: 2f);
        var trained = StyleHeadTrainer.Train(examples, new StyleHeadOptions { L2 = 0.5f, Algorithm = StyleHeadAlgorithm.MlNet });
        using var onnx = OnnxStyleHead.Load(StyleHeadOnnx.ToOnnx(trained.Head, "crop"));

        var vectors = examples.Select(e => e.Embedding).ToArray();
        var expected = trained.ReferenceProbabilities(vectors);
        var actual = onnx.Probabilities(vectors);
        var managed = vectors.Select(v => trained.Head.Probabilities(v)).ToArray();

        Assert.Equal(trained.Head.Classes.Select(c => c.Id), onnx.Classes.Select(c => c.Id));
        Assert.Equal("crop", onnx.EmbeddingView);
        for (var i = 0; i < vectors.Length; i++)
        {
            for (var k = 0; k < Styles.Length; k++)
            {
                Assert.Equal(expected[i][k], actual[i][k], 1e-4);
                Assert.Equal(expected[i][k], managed[i][k], 1e-4);
            }
        }
    }

    [Fact]
    public void Styles_with_fewer_than_the_minimum_examples_are_not_classes()
    {
        var examples = Clusters(0, 16, seed: 3, counts: [50, 45, 39]);
        var trained = StyleHeadTrainer.Train(examples, new StyleHeadOptions { MinExamples = 40 });

        Assert.Equal(["romantic", "resort"], trained.Head.Classes.Select(c => c.Id));
        Assert.Equal(50, trained.Counts["romantic"]);
    }

    [Fact]
    public void Sub_styles_add_weaker_examples_only_to_existing_classes()
    {
        var examples = Clusters(45, 16, seed: 4)
            .Select((e, i) => i % 5 == 0 ? e with { Substyle = i % 2 == 0 ? StyleTaxonomy.Get("street") : StyleTaxonomy.Get("resort") } : e)
            .ToList();
        var trained = StyleHeadTrainer.Train(examples, new StyleHeadOptions { SubstyleWeight = 0.3f });

        Assert.DoesNotContain(trained.Head.Classes, c => c.Id == "street");
        Assert.True(trained.SubstyleCounts["resort"] > 0);
    }
}
