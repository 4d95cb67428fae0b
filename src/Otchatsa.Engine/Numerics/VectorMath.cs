using System.Numerics.Tensors;

namespace Otchatsa.Numerics;

/// <summary>Small vector helpers over <see cref="TensorPrimitives"/>.</summary>
public static class VectorMath
{
    /// <summary>Scales a vector to unit length in place; a zero vector stays zero.</summary>
    public static void Normalize(Span<float> vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Dot(a, b);

    /// <summary>Concatenates unit vectors and rescales so the result has unit length again.</summary>
    public static float[] Concat(params float[][] parts)
    {
        var result = new float[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        Normalize(result);
        return result;
    }
}
