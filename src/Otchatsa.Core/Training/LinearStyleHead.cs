using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// A trained linear style layer: probabilities = softmax(W·x + b) over <see cref="Classes"/>. This is what
/// <see cref="StyleHeadOnnx"/> writes as an ONNX graph; the managed <see cref="Probabilities"/> exists for tests.
/// </summary>
public sealed class LinearStyleHead
{
    public LinearStyleHead(IReadOnlyList<FashionStyle> classes, float[][] weights, float[] bias)
    {
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

    public float[] Probabilities(ReadOnlySpan<float> embedding)
    {
        var logits = new float[Classes.Count];
        for (var k = 0; k < logits.Length; k++)
        {
            logits[k] = System.Numerics.Tensors.TensorPrimitives.Dot(Weights[k], embedding) + Bias[k];
        }
        System.Numerics.Tensors.TensorPrimitives.SoftMax(logits, logits);
        return logits;
    }
}
