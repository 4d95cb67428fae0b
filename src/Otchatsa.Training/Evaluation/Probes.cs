using System.Diagnostics;
using Otchatsa.Embeddings;
using Otchatsa.KFashion;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Vision;
using SkiaSharp;

namespace Otchatsa.Evaluation;

/// <summary>Measurements beside the quality numbers: person-crop coverage and pipeline latency.</summary>
public static class Probes
{
    /// <summary>Person box vs labelled garment boxes for every sample that has a K-Fashion label; null when none has.</summary>
    public static CoverageMetrics? Coverage(IReadOnlyList<PhotoSample> samples)
    {
        var shares = new List<double>();
        var found = 0;
        foreach (var sample in samples)
        {
            if (sample.Photo.LabelPath is null || !File.Exists(sample.Photo.LabelPath))
            {
                continue;
            }
            var person = sample.InStudio.Person;
            KFashionLabel label;
            try
            {
                label = KFashionLabel.Read(sample.Photo.LabelPath);
            }
            catch (InvalidDataException)
            {
                // Some labels of the 23-style sample carry no style block (photos with an empty style): no boxes to compare.
                continue;
            }
            var union = label.GarmentUnion(person.Width, person.Height);
            if (union is not { } garments || garments.Width * garments.Height <= 0)
            {
                continue;
            }
            found += person.Found ? 1 : 0;
            var overlap = SKRect.Intersect(garments, person.Box);
            shares.Add(overlap.IsEmpty ? 0 : overlap.Width * overlap.Height / (double)(garments.Width * garments.Height));
        }
        return shares.Count == 0 ? null : new CoverageMetrics(shares.Count, found, shares.Average(), Percentiles.Of(shares, 0.5), shares.Count(s => s >= 0.9) / (double)shares.Count);
    }

    /// <summary>Runs the whole pipeline (decode → person → embedding → head → search → strategy) on real files.</summary>
    public static LatencyMetrics Latency(OutfitRecommender recommender, IRecommendationStrategy strategy, IReadOnlyList<string> photos)
    {
        var stages = new Dictionary<string, List<double>>
        {
            ["decode"] = [], ["segment"] = [], ["embed"] = [], ["classify"] = [], ["search"] = [], ["total"] = [],
        };
        var clock = Stopwatch.StartNew();
        foreach (var path in photos)
        {
            var result = recommender.Recommend(File.ReadAllBytes(path), strategy);
            var t = result.Analysis.Timings;
            stages["decode"].Add(t.Decode);
            stages["segment"].Add(t.Segment);
            stages["embed"].Add(t.Embed);
            stages["classify"].Add(result.ClassifyMs);
            stages["search"].Add(result.SearchMs);
            stages["total"].Add(result.TotalMs);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        return new LatencyMetrics(
            photos.Count,
            stages.Select(kv => new StageLatency(kv.Key, Percentiles.Of(kv.Value, 0.5), Percentiles.Of(kv.Value, 0.95))).ToArray(),
            seconds > 0 ? photos.Count / seconds : 0,
            RawResNet(recommender.Engine));
    }

    private static double RawResNet(OutfitEngine engine)
    {
        var input = new float[3 * ResNetEmbedder.InputSize * ResNetEmbedder.InputSize];
        var output = new float[ResNetEmbedder.Dimensions];
        engine.Embedder.RunRaw(input, output);
        var times = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            engine.Embedder.RunRaw(input, output);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return Percentiles.Of(times, 0.5);
    }
}
