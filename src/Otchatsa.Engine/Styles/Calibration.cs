namespace Otchatsa.Styles;

/// <summary>
/// Temperature scaling as served: p ∝ exp(log q / T) for a predicted distribution q, with a temperature that may depend
/// on one feature of the query. The temperatures are fitted by the trainer (Otchatsa.Training.CalibrationFit).
/// </summary>
public static class Calibration
{
    /// <summary>Reference point of the feature in <see cref="TemperatureAt"/> (a typical top-neighbour cosine).</summary>
    public const float FeatureCentre = 0.9f;

    /// <summary>T(f) = T₀ · exp(slope · (f − <see cref="FeatureCentre"/>)): a temperature that depends on one feature of the query.</summary>
    public static float TemperatureAt(float t0, float slope, float feature) =>
        slope == 0 ? t0 : t0 * MathF.Exp(slope * (feature - FeatureCentre));

    /// <summary>q^(1/T), renormalised (T &gt; 1 softens, T &lt; 1 sharpens). Zeros stay zero.</summary>
    public static float[] Apply(ReadOnlySpan<float> probabilities, float temperature)
    {
        var r = new float[probabilities.Length];
        if (probabilities.Length == 0)
        {
            return r;
        }
        var max = double.NegativeInfinity;
        for (var i = 0; i < r.Length; i++)
        {
            if (probabilities[i] > 0)
            {
                max = Math.Max(max, Math.Log(probabilities[i]) / temperature);
            }
        }
        double sum = 0;
        var tmp = new double[r.Length];
        for (var i = 0; i < r.Length; i++)
        {
            tmp[i] = probabilities[i] > 0 ? Math.Exp(Math.Log(probabilities[i]) / temperature - max) : 0;
            sum += tmp[i];
        }
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = sum > 0 ? (float)(tmp[i] / sum) : 1f / r.Length;
        }
        return r;
    }

}
