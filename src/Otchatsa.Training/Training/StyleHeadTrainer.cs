using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// One training photo: its embedding, main style and (optional) sub-style; <paramref name="Augmented"/> holds other
/// vectors of the same photo (the view without mirror averaging, its person on another backdrop) used as extra,
/// weaker examples when <see cref="StyleHeadOptions.AugmentWeight"/> is above 0.
/// </summary>
public sealed record StyleExample(float[] Embedding, FashionStyle Style, FashionStyle? Substyle, IReadOnlyList<float[]>? Augmented = null);

/// <summary>The space nearest-class-mean logits are computed in (all fold into the linear layer).</summary>
public enum PrototypeSpace
{
    /// <summary>γ·x·μ̂ₖ on the unit embedding.</summary>
    Raw,

    /// <summary>γ·(x − c)·(μₖ − c)^ with c the mean of the class means (SimpleShot-style centring, without the per-photo norm).</summary>
    Centred,

    /// <summary>γ·z·ẑₖ/√D on standardised features z (a diagonal Mahalanobis nearest mean).</summary>
    Standardised,
}

/// <summary>Which optimiser trains the head.</summary>
public enum StyleHeadAlgorithm
{
    /// <summary>Our softmax regression (<see cref="SoftmaxRegression"/>): soft targets, parent term, prototypes.</summary>
    Softmax,

    /// <summary>ML.NET L-BFGS maximum entropy (the original head; main style and weighted sub-style rows only).</summary>
    MlNet,
}

/// <summary>Settings of <see cref="StyleHeadTrainer"/>; defaults are the recipe of the committed head (docs/evaluation.md).</summary>
public sealed record StyleHeadOptions
{
    public StyleHeadAlgorithm Algorithm { get; init; } = StyleHeadAlgorithm.Softmax;

    /// <summary>A style becomes a class only with at least this many main-style examples.</summary>
    public int MinExamples { get; init; } = 5;

    /// <summary>
    /// L2 penalty of the logistic regression (on standardised features). Strong, by cross-validation: with ~1,200
    /// photos and 1,024 features a weakly regularised layer memorises products.
    /// </summary>
    public float L2 { get; init; } = 200f;

    /// <summary>
    /// Share of a photo's target mass given to its sub-style (soft target; 0 = ignore sub-styles). With
    /// <see cref="StyleHeadAlgorithm.MlNet"/> it is the weight of the sub-style as an extra example instead. Only
    /// sub-styles that are classes count, so sub-styles never add classes of their own.
    /// </summary>
    public float SubstyleWeight { get; init; } = 0.3f;

    /// <summary>Weight each class by (N / (K · count))^<see cref="BalancePower"/>, so rare styles are not drowned by frequent ones.</summary>
    public bool BalanceClasses { get; init; } = true;

    /// <summary>1 = fully balanced class weights; 0.5 = by the inverse square root of the class size.</summary>
    public float BalancePower { get; init; } = 1f;

    /// <summary>Weight of the cross-entropy over the taxonomy's parents next to the style term (0 = off).</summary>
    public float ParentWeight { get; init; }

    /// <summary>
    /// Weight γ of the nearest-class-mean logits γ·cos(x, μₖ) added to the linear logits (0 = linear head only).
    /// Embeddings are unit length, so the prototypes fold into the same matrix multiply.
    /// </summary>
    public float PrototypeWeight { get; init; }

    /// <summary>Where prototypes are compared: the raw unit vectors, centred on the mean of the class means, or standardised.</summary>
    public PrototypeSpace PrototypeSpace { get; init; } = PrototypeSpace.Centred;

    /// <summary>Weight of each augmented vector of a photo as an extra example (0 = no feature-space augmentation).</summary>
    public float AugmentWeight { get; init; } = 0.5f;

    public int Seed { get; init; } = 1;

    /// <summary>
    /// Feed the square roots of the embedding's (non-negative, ReLU-pooled) values to the linear layer: it evens out the
    /// few large activations that otherwise dominate a linear probe.
    /// </summary>
    public bool SquareRoot { get; init; }

    /// <summary>Divide the logits by this temperature (fitted on cross-validation folds by <see cref="Calibration"/>).</summary>
    public float Temperature { get; init; } = 1f;
}

/// <summary>A trained head together with the model it came from (ML.NET's, when it trained it, for checking the ONNX export).</summary>
public sealed class TrainedStyleHead
{
    private readonly MLContext? _ml;
    private readonly ITransformer? _model;
    private readonly float[] _mean;
    private readonly float[] _scale;

    internal TrainedStyleHead(LinearStyleHead head, IReadOnlyDictionary<string, int> counts, IReadOnlyDictionary<string, int> substyleCounts,
        MLContext? ml, ITransformer? model, float[] mean, float[] scale)
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

    /// <summary>
    /// Class probabilities as the trainer computes them, the reference the ONNX head must reproduce: ML.NET's own
    /// prediction for an ML.NET head, else the managed <see cref="LinearStyleHead.Probabilities"/>.
    /// </summary>
    public float[][] ReferenceProbabilities(IReadOnlyList<float[]> embeddings)
    {
        if (_ml is null || _model is null)
        {
            return embeddings.Select(e => Head.Probabilities(e)).ToArray();
        }
        var rows = embeddings.Select(e => new HeadRow { Features = StyleHeadTrainer.Standardise(Head.SquareRootInput ? LinearStyleHead.SquareRoot(e) : e, _mean, _scale), Label = StyleHeadTrainer.LabelText(0), Weight = 1 });
        var data = _ml.Data.LoadFromEnumerable(rows, StyleHeadTrainer.Schema(Head.Dimensions));
        var scored = _model.Transform(data);
        return scored.GetColumn<float[]>("Score").ToArray();
    }
}

/// <summary>
/// Trains the style head: multinomial logistic regression over standardised embeddings with balanced class weights —
/// our <see cref="SoftmaxRegression"/> (soft sub-style targets, a parent term, feature-space augmentation, prototypes)
/// or ML.NET's L-BFGS maximum entropy. The standardisation, the prototypes and the temperature are folded into the
/// weights afterwards, so the served head is one matrix multiply, an add and a softmax on the raw embedding.
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
        if (options.SquareRoot && options.PrototypeWeight > 0)
        {
            throw new ArgumentException("Prototypes are cosine similarities of the raw embedding; they cannot be combined with the square-root input.");
        }
        var classes = ClassesFor(examples.Select(e => e.Style), options.MinExamples);
        if (classes.Count < 2)
        {
            throw new InvalidOperationException(
                $"A style head needs at least two styles with {options.MinExamples} or more examples; the data has {classes.Count}.");
        }
        return options.Algorithm == StyleHeadAlgorithm.MlNet ? TrainMlNet(examples, classes, options) : TrainSoftmax(examples, classes, options);
    }

    private static TrainedStyleHead TrainSoftmax(IReadOnlyList<StyleExample> examples, IReadOnlyList<FashionStyle> classes, StyleHeadOptions options)
    {
        var classIndex = classes.Select((s, i) => (s.Id, i)).ToDictionary(p => p.Id, p => p.i);
        var used = examples.Where(e => classIndex.ContainsKey(e.Style.Id)).ToArray();
        var dims = used[0].Embedding.Length;
        float[] Input(float[] embedding) => options.SquareRoot ? LinearStyleHead.SquareRoot(embedding) : embedding;
        bool HasSub(StyleExample e) => options.SubstyleWeight > 0 && e.Substyle is not null && e.Substyle.Id != e.Style.Id && classIndex.ContainsKey(e.Substyle.Id);

        var counts = classes.ToDictionary(c => c.Id, c => used.Count(e => e.Style.Id == c.Id));
        var subCounts = classes.ToDictionary(c => c.Id, c => used.Count(e => HasSub(e) && e.Substyle!.Id == c.Id));
        // A class's size for balancing: its main-style mass plus the sub-style mass it receives.
        var mass = classes.ToDictionary(c => c.Id, c => counts[c.Id] * 1.0);
        foreach (var e in used.Where(HasSub))
        {
            mass[e.Style.Id] -= options.SubstyleWeight;
            mass[e.Substyle!.Id] += options.SubstyleWeight;
        }
        var total = mass.Values.Sum();
        double ClassWeight(int k) => options.BalanceClasses
            ? Math.Pow(total / (classes.Count * Math.Max(mass[classes[k].Id], 0.5)), options.BalancePower)
            : 1.0;

        var (mean, scale) = Moments(used.Select(e => Input(e.Embedding)).ToArray(), dims);
        var rows = new List<SoftRow>();
        foreach (var e in used)
        {
            var target = new float[classes.Count];
            var main = classIndex[e.Style.Id];
            if (HasSub(e))
            {
                target[main] = 1 - options.SubstyleWeight;
                target[classIndex[e.Substyle!.Id]] = options.SubstyleWeight;
            }
            else
            {
                target[main] = 1;
            }
            var weight = 0.0;
            for (var k = 0; k < classes.Count; k++)
            {
                weight += target[k] * ClassWeight(k);
            }
            rows.Add(new SoftRow(Standardise(Input(e.Embedding), mean, scale), target, (float)weight));
            if (options.AugmentWeight > 0)
            {
                foreach (var extra in e.Augmented ?? [])
                {
                    rows.Add(new SoftRow(Standardise(Input(extra), mean, scale), target, (float)(weight * options.AugmentWeight)));
                }
            }
        }
        // Normalise the weights to sum to the number of photos, so L2 means the same whatever the balancing.
        var weightSum = rows.Sum(r => (double)r.Weight);
        var factor = (float)(used.Length / weightSum);
        var normalised = rows.Select(r => r with { Weight = r.Weight * factor }).ToArray();
        var parentIds = StyleTaxonomy.Parents.Select(p => p.Id).ToList();
        var groupOf = classes.Select(c => parentIds.IndexOf(c.Parent)).ToArray();
        var fit = SoftmaxRegression.Fit(normalised, classes.Count, options.L2, groupOf, options.ParentWeight);

        var (w, b) = FoldStandardisation(fit.Weights, fit.Bias, mean, scale);
        if (options.PrototypeWeight > 0)
        {
            // Nearest class mean: γ·cos(x, μₖ) = γ·x·μₖ/‖μₖ‖ for unit-length x (and for √x, within a constant per photo).
            AddPrototypeLogits(w, b, used, classes, classIndex, options, mean, scale);
        }
        Scale(w, b, 1 / options.Temperature);
        return new TrainedStyleHead(new LinearStyleHead(classes, w, b, options.SquareRoot), counts, subCounts, null, null, mean, scale);
    }

    private static void AddPrototypeLogits(float[][] w, float[] b, IReadOnlyList<StyleExample> used, IReadOnlyList<FashionStyle> classes,
        IReadOnlyDictionary<string, int> classIndex, StyleHeadOptions options, float[] mean, float[] scale)
    {
        var dims = mean.Length;
        var g = options.PrototypeWeight;
        var sums = classes.Select(_ => new double[dims]).ToArray();
        var n = new int[classes.Count];
        foreach (var e in used)
        {
            var k = classIndex[e.Style.Id];
            n[k]++;
            for (var d = 0; d < dims; d++)
            {
                sums[k][d] += options.PrototypeSpace == PrototypeSpace.Standardised ? (e.Embedding[d] - mean[d]) / scale[d] : e.Embedding[d];
            }
        }
        var means = sums.Select((v, k) => v.Select(x => (float)(x / Math.Max(1, n[k]))).ToArray()).ToArray();
        var centre = new float[dims];
        if (options.PrototypeSpace == PrototypeSpace.Centred)
        {
            foreach (var m in means)
            {
                System.Numerics.Tensors.TensorPrimitives.Add(centre, m, centre);
            }
            System.Numerics.Tensors.TensorPrimitives.Multiply(centre, 1f / means.Length, centre);
        }
        for (var k = 0; k < classes.Count; k++)
        {
            var u = new float[dims];
            System.Numerics.Tensors.TensorPrimitives.Subtract(means[k], centre, u);
            Numerics.VectorMath.Normalize(u);
            double shift = 0;
            for (var d = 0; d < dims; d++)
            {
                if (options.PrototypeSpace == PrototypeSpace.Standardised)
                {
                    // γ/√D · Σ u (x − m)/s
                    var c = g * u[d] / (scale[d] * MathF.Sqrt(dims));
                    w[k][d] += c;
                    shift += c * mean[d];
                }
                else
                {
                    w[k][d] += g * u[d];
                    shift += g * u[d] * centre[d];
                }
            }
            b[k] -= (float)shift;
        }
    }

    /// <summary>The unit-length mean embedding of each class (main-style examples).</summary>
    public static float[][] Prototypes(IReadOnlyList<StyleExample> used, IReadOnlyList<FashionStyle> classes, IReadOnlyDictionary<string, int> classIndex)
    {
        var dims = used[0].Embedding.Length;
        var prototypes = classes.Select(_ => new float[dims]).ToArray();
        foreach (var e in used)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(prototypes[classIndex[e.Style.Id]], e.Embedding, prototypes[classIndex[e.Style.Id]]);
        }
        foreach (var p in prototypes)
        {
            Numerics.VectorMath.Normalize(p);
        }
        return prototypes;
    }

    private static void Scale(float[][] w, float[] b, float factor)
    {
        if (factor == 1f)
        {
            return;
        }
        for (var k = 0; k < w.Length; k++)
        {
            System.Numerics.Tensors.TensorPrimitives.Multiply(w[k], factor, w[k]);
            b[k] *= factor;
        }
    }

    /// <summary>w·((x − μ)/σ) + b = (w/σ)·x + (b − Σ w μ/σ).</summary>
    private static (float[][] W, float[] B) FoldStandardisation(IReadOnlyList<float[]> weights, IReadOnlyList<float> biases, float[] mean, float[] scale)
    {
        var dims = mean.Length;
        var w = new float[weights.Count][];
        var b = new float[weights.Count];
        for (var k = 0; k < weights.Count; k++)
        {
            w[k] = new float[dims];
            double shift = 0;
            for (var d = 0; d < dims; d++)
            {
                w[k][d] = weights[k][d] / scale[d];
                shift += (double)weights[k][d] * mean[d] / scale[d];
            }
            b[k] = (float)(biases[k] - shift);
        }
        return (w, b);
    }

    private static TrainedStyleHead TrainMlNet(IReadOnlyList<StyleExample> examples, IReadOnlyList<FashionStyle> classes, StyleHeadOptions options)
    {
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
        var (w, b) = FoldStandardisation(weights.Select(v => v.DenseValues().ToArray()).ToArray(), biases, mean, scale);
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
