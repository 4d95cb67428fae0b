using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>One training photo: its embedding, main style and (optional) sub-style.</summary>
public sealed record StyleExample(float[] Embedding, FashionStyle Style, FashionStyle? Substyle);

/// <summary>Settings of <see cref="StyleHeadTrainer"/>.</summary>
public sealed record StyleHeadOptions
{
    /// <summary>A style becomes a class only with at least this many main-style examples.</summary>
    public int MinExamples { get; init; } = 40;

    /// <summary>
    /// L2 penalty of the logistic regression (on standardised features). Strong, by cross-validation: with ~1,200
    /// photos and 1,024 features a weakly regularised layer memorises products.
    /// </summary>
    public float L2 { get; init; } = 200f;

    /// <summary>
    /// Weight of a photo's sub-style as an extra, weaker example of that class (0 = ignore sub-styles). Only sub-styles
    /// that are classes count, so sub-styles never add classes of their own.
    /// </summary>
    public float SubstyleWeight { get; init; }

    /// <summary>Weight each class by N / (K · count), so rare styles are not drowned by frequent ones.</summary>
    public bool BalanceClasses { get; init; } = true;

    public int Seed { get; init; } = 1;

    /// <summary>
    /// Feed the square roots of the embedding's (non-negative, ReLU-pooled) values to the linear layer: it evens out the
    /// few large activations that otherwise dominate a linear probe.
    /// </summary>
    public bool SquareRoot { get; init; }
}

/// <summary>A trained head together with the ML.NET model it came from (kept for checking the ONNX export).</summary>
public sealed class TrainedStyleHead
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly float[] _mean;
    private readonly float[] _scale;

    internal TrainedStyleHead(LinearStyleHead head, IReadOnlyDictionary<string, int> counts, IReadOnlyDictionary<string, int> substyleCounts,
        MLContext ml, ITransformer model, float[] mean, float[] scale)
    {
        Head = head;
        Counts = counts;
        SubstyleCounts = substyleCounts;
        _ml = ml;
        _model = model;
        _mean = mean;
        _scale = scale;
    }

    public LinearStyleHead Head { get; }

    /// <summary>Main-style training examples per class id.</summary>
    public IReadOnlyDictionary<string, int> Counts { get; }

    /// <summary>Extra sub-style examples per class id.</summary>
    public IReadOnlyDictionary<string, int> SubstyleCounts { get; }

    /// <summary>Class probabilities as ML.NET computes them (the reference the ONNX head must reproduce).</summary>
    public float[][] PredictWithMlNet(IReadOnlyList<float[]> embeddings)
    {
        var rows = embeddings.Select(e => new HeadRow { Features = StyleHeadTrainer.Standardise(Head.SquareRootInput ? LinearStyleHead.SquareRoot(e) : e, _mean, _scale), Label = StyleHeadTrainer.LabelText(0), Weight = 1 });
        var data = _ml.Data.LoadFromEnumerable(rows, StyleHeadTrainer.Schema(Head.Dimensions));
        var scored = _model.Transform(data);
        return scored.GetColumn<float[]>("Score").ToArray();
    }
}

/// <summary>
/// Trains the style head: multinomial logistic regression (ML.NET L-BFGS maximum entropy) over standardised
/// embeddings, with balanced class weights. The standardisation is folded into the weights afterwards, so the served
/// head is one matrix multiply, an add and a softmax on the raw embedding.
/// </summary>
public static class StyleHeadTrainer
{
    /// <summary>Styles with at least <see cref="StyleHeadOptions.MinExamples"/> main-style examples, in taxonomy order.</summary>
    public static IReadOnlyList<FashionStyle> ClassesFor(IEnumerable<FashionStyle> mainStyles, int minExamples)
    {
        var counts = mainStyles.GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.Count());
        return StyleTaxonomy.All.Where(s => counts.GetValueOrDefault(s.Id) >= minExamples).ToArray();
    }

    public static TrainedStyleHead Train(IReadOnlyList<StyleExample> examples, StyleHeadOptions? options = null)
    {
        options ??= new StyleHeadOptions();
        var classes = ClassesFor(examples.Select(e => e.Style), options.MinExamples);
        if (classes.Count < 2)
        {
            throw new InvalidOperationException(
                $"A style head needs at least two styles with {options.MinExamples} or more examples; the data has {classes.Count}.");
        }
        var classIndex = classes.Select((s, i) => (s.Id, i)).ToDictionary(p => p.Id, p => p.i);
        var used = examples.Where(e => classIndex.ContainsKey(e.Style.Id)).ToArray();
        var dims = used[0].Embedding.Length;
        float[] Input(float[] embedding) => options.SquareRoot ? LinearStyleHead.SquareRoot(embedding) : embedding;

        var counts = classes.ToDictionary(c => c.Id, c => used.Count(e => e.Style.Id == c.Id));
        var subExamples = options.SubstyleWeight > 0
            ? used.Where(e => e.Substyle is not null && e.Substyle.Id != e.Style.Id && classIndex.ContainsKey(e.Substyle.Id)).ToArray()
            : [];
        var subCounts = classes.ToDictionary(c => c.Id, c => subExamples.Count(e => e.Substyle!.Id == c.Id));
        float ClassWeight(string id) => options.BalanceClasses ? used.Length / (float)(classes.Count * counts[id]) : 1f;

        var (mean, scale) = Moments(used.Select(e => Input(e.Embedding)).ToArray(), dims);
        var rows = used
            .Select(e => new HeadRow { Features = Standardise(Input(e.Embedding), mean, scale), Label = LabelText(classIndex[e.Style.Id]), Weight = ClassWeight(e.Style.Id) })
            .Concat(subExamples.Select(e => new HeadRow
            {
                Features = Standardise(Input(e.Embedding), mean, scale),
                Label = LabelText(classIndex[e.Substyle!.Id]),
                Weight = options.SubstyleWeight * ClassWeight(e.Substyle.Id),
            }))
            .ToArray();

        var ml = new MLContext(options.Seed);
        var data = ml.Data.LoadFromEnumerable(rows, Schema(dims));
        // Zero-padded label texts sort in class order, so key k-1 (score column k-1) is class k-1.
        var toKey = ml.Transforms.Conversion.MapValueToKey(KeyColumn, nameof(HeadRow.Label), keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue);
        var trainer = ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
        {
            LabelColumnName = KeyColumn,
            FeatureColumnName = nameof(HeadRow.Features),
            ExampleWeightColumnName = nameof(HeadRow.Weight),
            L2Regularization = options.L2,
            L1Regularization = 0,
            OptimizationTolerance = 1e-7f,
            MaximumNumberOfIterations = 500,
            // One thread: deterministic results, and the machine is shared.
            NumberOfThreads = 1,
        });
        var model = toKey.Append(trainer).Fit(data);

        VBuffer<float>[] weights = [];
        model.LastTransformer.Model.GetWeights(ref weights, out var numClasses);
        var biases = model.LastTransformer.Model.GetBiases().ToArray();
        if (numClasses != classes.Count)
        {
            throw new InvalidOperationException($"ML.NET trained {numClasses} classes, expected {classes.Count}.");
        }
        // Fold the standardisation in: w·((x − μ)/σ) + b = (w/σ)·x + (b − Σ w μ/σ).
        var w = new float[classes.Count][];
        var b = new float[classes.Count];
        for (var k = 0; k < classes.Count; k++)
        {
            var dense = weights[k].DenseValues().ToArray();
            w[k] = new float[dims];
            double shift = 0;
            for (var d = 0; d < dims; d++)
            {
                w[k][d] = dense[d] / scale[d];
                shift += (double)dense[d] * mean[d] / scale[d];
            }
            b[k] = (float)(biases[k] - shift);
        }
        return new TrainedStyleHead(new LinearStyleHead(classes, w, b, options.SquareRoot), counts, subCounts, ml, model, mean, scale);
    }

    private const string KeyColumn = "LabelKey";

    internal static string LabelText(int classIndex) => classIndex.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);

    internal static SchemaDefinition Schema(int dims)
    {
        var schema = SchemaDefinition.Create(typeof(HeadRow));
        schema[nameof(HeadRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dims);
        return schema;
    }

    internal static float[] Standardise(float[] x, float[] mean, float[] scale)
    {
        var z = new float[x.Length];
        for (var d = 0; d < x.Length; d++)
        {
            z[d] = (x[d] - mean[d]) / scale[d];
        }
        return z;
    }

    private static (float[] Mean, float[] Scale) Moments(float[][] xs, int dims)
    {
        var mean = new double[dims];
        var sq = new double[dims];
        foreach (var x in xs)
        {
            for (var d = 0; d < dims; d++)
            {
                mean[d] += x[d];
                sq[d] += (double)x[d] * x[d];
            }
        }
        var m = new float[dims];
        var s = new float[dims];
        for (var d = 0; d < dims; d++)
        {
            m[d] = (float)(mean[d] / xs.Length);
            var variance = Math.Max(0, sq[d] / xs.Length - m[d] * (double)m[d]);
            // A floor keeps dead ReLU channels (always 0) from dividing by zero.
            s[d] = (float)Math.Max(Math.Sqrt(variance), 1e-4);
        }
        return (m, s);
    }
}

/// <summary>An ML.NET training row (public members are how ML.NET maps columns).</summary>
internal sealed class HeadRow
{
    public float[] Features { get; set; } = [];
    public string Label { get; set; } = "";
    public float Weight { get; set; }
}
