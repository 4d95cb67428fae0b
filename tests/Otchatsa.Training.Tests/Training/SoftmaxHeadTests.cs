using Otchatsa.Evaluation;
using Otchatsa.Numerics;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Otchatsa.Training;

namespace Otchatsa.Tests.Training;

/// <summary>Our softmax regression (soft targets, parent term, prototypes) and its calibration.</summary>
public sealed class SoftmaxHeadTests
{
    [Fact]
    public void The_gradient_with_soft_targets_and_the_parent_term_matches_finite_differences()
    {
        var random = new Random(7);
        var rows = Enumerable.Range(0, 12).Select(i =>
        {
            var target = new float[4];
            target[i % 4] = 0.7f;
            target[(i + 1) % 4] = 0.3f;
            return new SoftRow(Enumerable.Range(0, 5).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), target, 0.5f + i % 3);
        }).ToArray();
        int[] groups = [0, 0, 1, 2];
        var fit = SoftmaxRegression.Fit(rows, 4, l2: 0.3f, groups, groupWeight: 0.5f, maxIterations: 3);
        // Check the analytic gradient at the (partly optimised) point through the public loss: perturb one weight.
        double Loss(float[][] w, float[] b)
        {
            var total = 0.0;
            foreach (var r in rows)
            {
                var z = Enumerable.Range(0, 4).Select(k => (double)System.Numerics.Tensors.TensorPrimitives.Dot(w[k], r.X) + b[k]).ToArray();
                var max = z.Max();
                var log = max + Math.Log(z.Sum(v => Math.Exp(v - max)));
                var p = z.Select(v => Math.Exp(v - log)).ToArray();
                total -= r.Weight * Enumerable.Range(0, 4).Sum(k => r.Target[k] > 0 ? r.Target[k] * Math.Log(p[k]) : 0);
                for (var g = 0; g < 3; g++)
                {
                    var t = Enumerable.Range(0, 4).Where(k => groups[k] == g).Sum(k => r.Target[k]);
                    var pg = Enumerable.Range(0, 4).Where(k => groups[k] == g).Sum(k => p[k]);
                    total -= t > 0 ? r.Weight * 0.5 * t * Math.Log(pg) : 0;
                }
            }
            return total + 0.5 * 0.3 * w.Sum(row => row.Sum(v => (double)v * v));
        }
        var before = Loss(fit.Weights, fit.Bias);
        Assert.Equal(fit.Loss, before, 3);
        // More iterations reach a lower loss, and the optimum has (numerically) zero gradient in every weight.
        var best = SoftmaxRegression.Fit(rows, 4, 0.3f, groups, 0.5f, maxIterations: 500, tolerance: 1e-12);
        Assert.True(best.Loss < before);
        const float h = 1e-3f;
        for (var k = 0; k < 4; k++)
        {
            for (var d = 0; d < 5; d++)
            {
                var w = best.Weights.Select(r => (float[])r.Clone()).ToArray();
                w[k][d] += h;
                var up = Loss(w, best.Bias);
                w[k][d] -= 2 * h;
                var down = Loss(w, best.Bias);
                Assert.True(Math.Abs((up - down) / (2 * h)) < 2e-2, $"dL/dw[{k},{d}] = {(up - down) / (2 * h)}");
            }
        }
    }

    [Fact]
    public void Soft_sub_style_targets_move_probability_to_the_sub_style()
    {
        var examples = StyleHeadTrainerTests.Clusters(40, 16, seed: 11);
        var resort = StyleTaxonomy.Get("resort");
        var withSub = examples.Select(e => e.Style.Id == "romantic" ? e with { Substyle = resort } : e).ToList();
        var probe = examples.First(e => e.Style.Id == "romantic").Embedding;
        var options = new StyleHeadOptions { AugmentWeight = 0, L2 = 1 };

        var plain = StyleHeadTrainer.Train(withSub, options with { SubstyleWeight = 0 }).Head;
        var soft = StyleHeadTrainer.Train(withSub, options with { SubstyleWeight = 0.4f }).Head;
        var k = plain.Classes.ToList().FindIndex(c => c.Id == "resort");

        Assert.True(soft.Probabilities(probe)[k] > plain.Probabilities(probe)[k] + 0.2f,
            $"{plain.Probabilities(probe)[k]} → {soft.Probabilities(probe)[k]}");
        Assert.Equal(plain.Classes.Select(c => c.Id), soft.Classes.Select(c => c.Id));
    }

    [Fact]
    public void The_default_recipe_separates_styles_and_its_onnx_export_matches_including_the_outfit_similarity()
    {
        var train = StyleHeadTrainerTests.Clusters(50, 32, seed: 1)
            .Select(e => e with { Augmented = [Noisy(e.Embedding, 1)] }).ToList();
        var test = StyleHeadTrainerTests.Clusters(30, 32, seed: 1, sampleSeed: 1);
        var options = new StyleHeadOptions { PrototypeWeight = 10, ParentWeight = 0.5f, Temperature = 2f };
        var trained = StyleHeadTrainer.Train(train, options);
        var classes = trained.Head.Classes;
        var prototypes = Otchatsa.Evaluation.CrossValidation.OutfitPrototypes(train, classes);
        using var onnx = OnnxStyleHead.Load(StyleHeadOnnx.ToOnnx(trained.Head, "crop",
            new HeadServing { Examples = [50, 50, 50], Prototypes = prototypes, OutfitThreshold = 0.5f, UnsureBelow = 0.3f }));

        var correct = test.Count(e => onnx.Classify(e.Embedding, [])[0].Style.Id == e.Style.Id);
        Assert.True(correct >= 0.9 * test.Count, $"{correct} of {test.Count}");
        foreach (var e in test.Take(10))
        {
            var managed = trained.Head.Probabilities(e.Embedding);
            var served = onnx.Probabilities([e.Embedding])[0];
            for (var k = 0; k < managed.Length; k++)
            {
                Assert.Equal(managed[k], served[k], 1e-4);
            }
            var best = prototypes.Max(p => VectorMath.Dot(p, e.Embedding));
            Assert.Equal(best, onnx.OutfitSimilarity(e.Embedding)!.Value, 1e-4);
        }
        Assert.Equal(50, onnx.Examples["romantic"]);
        Assert.Equal(0.3f, onnx.UnsureBelow);
        Assert.Equal(0.5f, onnx.OutfitThreshold);
    }

    [Fact]
    public void A_fitted_temperature_undoes_overconfidence_and_lowers_the_calibration_error()
    {
        // Predictions that are right 60 % of the time but claim about 90 %.
        var random = new Random(3);
        var data = new List<TemperatureFitting.Labelled>();
        for (var i = 0; i < 2000; i++)
        {
            var truth = random.Next(5);
            var predicted = random.NextDouble() < 0.6 ? truth : (truth + 1 + random.Next(4)) % 5;
            var p = Enumerable.Repeat(0.025f, 5).ToArray();
            p[predicted] = 0.9f;
            data.Add(new TemperatureFitting.Labelled(p, truth));
        }
        (double, bool)[] Pairs(float t) => data.Select(d => { var p = Calibration.Apply(d.Probabilities, t); var top = Array.IndexOf(p, p.Max()); return ((double)p[top], top == d.Truth); }).ToArray();

        var temperature = TemperatureFitting.FitTemperature(data);

        Assert.True(temperature > 1.5f, $"T = {temperature}");
        var (before, _) = StyleTally.Calibration(Pairs(1f));
        var (after, _) = StyleTally.Calibration(Pairs(temperature));
        Assert.True(before > 0.25, $"ECE before {before}");
        Assert.True(after < 0.03, $"ECE after {after}");
        Assert.InRange(Pairs(temperature).Average(p => p.Item1), 0.56, 0.64);
    }

    [Fact]
    public void The_sure_threshold_is_the_lowest_confidence_above_which_answers_were_right_often_enough()
    {
        var answers = Enumerable.Range(0, 100).Select(i => (Confidence: i / 100.0, Correct: i >= 50 ? i % 10 != 0 : i % 5 == 0)).ToArray();

        var threshold = TemperatureFitting.SureThreshold(answers, precision: 0.8);

        Assert.InRange(threshold, 0.4f, 0.55f);
        Assert.True(answers.Where(a => a.Confidence >= threshold).Average(a => a.Correct ? 1.0 : 0.0) >= 0.8);
        Assert.Equal(1f, TemperatureFitting.SureThreshold(answers.Select(a => (a.Confidence, false)).ToArray(), 0.8));
    }

    private static float[] Noisy(float[] v, int seed)
    {
        var random = new Random(seed);
        var r = v.Select(x => x + 0.05f * (float)(random.NextDouble() - 0.5)).ToArray();
        VectorMath.Normalize(r);
        return r;
    }
}
