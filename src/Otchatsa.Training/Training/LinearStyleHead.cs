using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// A trained linear style layer: probabilities = softmax(W·x + b) over <see cref="Classes"/>, where x is the embedding
/// or, with <see cref="SquareRootInput"/>, its element-wise square root. This is what
/// <see cref="StyleHeadOnnx"/> writes as an ONNX graph; the managed <see cref="Probabilities"/> exists for tests.
/// </summary>
public sealed class LinearStyleHead
{
    public LinearStyleHead(IReadOnlyList<FashionStyle> classes, float[][] weights, float[] bias, bool squareRootInput = false)
    {
        SquareRootInput = squareRootInput;
        if (classes.Count == 0 || weights.Length != classes.Count || bias.Length != classes.Count)
        {
            throw new ArgumentException("One weight row and one bias per class are required.");
        }
        Classes = classes;
        Weights = weights;
        Bias = bias;
        Dimensions = weights[0].Length;
    }

    public IReadOnlyList<FashionStyle> Classes { get; }

    /// <summary>One row of <see cref="Dimensions"/> weights per class.</summary>
    public float[][] Weights { get; }

    public float[] Bias { get; }

    public int Dimensions { get; }

    public bool SquareRootInput { get; }

    /// <summary>Element-wise √max(x, 0) (ReLU-pooled embeddings are non-negative; the max guards rounding).</summary>
    public static float[] SquareRoot(ReadOnlySpan<float> x)
    {
        var r = new float[x.Length];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = MathF.Sqrt(Math.Max(x[i], 0f));
        }
        return r;
    }

    public float[] Probabilities(ReadOnlySpan<float> embedding)
    {
        var x = SquareRootInput ? SquareRoot(embedding) : embedding.ToArray();
        var logits = new float[Classes.Count];
        for (var k = 0; k < logits.Length; k++)
        {
            logits[k] = System.Numerics.Tensors.TensorPrimitives.Dot(Weights[k], x) + Bias[k];
        }
        System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, logits);
        return logits;
    }
}
