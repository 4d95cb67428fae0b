using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// Fits temperature scaling (<see cref="Calibration"/>) and the confidence thresholds derived from it on out-of-fold
/// predictions of cross-validation. One parameter, so it cannot change which style is ranked first; it only makes the
/// printed probability mean what it says.
/// </summary>
public static class TemperatureFitting
{
    /// <summary>A distribution in <paramref name="Probabilities"/> with its true class index.</summary>
    public readonly record struct Labelled(float[] Probabilities, int Truth, float Feature = 0f);

    /// <summary>
    /// Fits (T₀, slope) of <see cref="Calibration.TemperatureAt"/> by least NLL: slope on a grid, T₀ by golden section for each.
    /// With the feature = similarity of the closest labelled catalog photo, near-duplicates in the catalog may be
    /// answered more sharply than photos unlike anything in it.
    /// </summary>
    public static (float T0, float Slope) FitTemperatureCurve(IReadOnlyList<Labelled> data, float maxSlope = 40f, float step = 2f)
    {
        var best = (T0: FitTemperature(data), Slope: 0f);
        var bestNll = Nll(data, best.T0);
        for (var slope = -maxSlope; slope <= maxSlope + 1e-3; slope += step)
        {
            if (slope == 0)
            {
                continue;
            }
            var scaled = data.Select(d => d with { Probabilities = Calibration.Apply(d.Probabilities, Calibration.TemperatureAt(1f, slope, d.Feature)) }).ToArray();
            var t0 = FitTemperature(scaled);
            var nll = Nll(data.Select(d => d with { Probabilities = Calibration.Apply(d.Probabilities, Calibration.TemperatureAt(t0, slope, d.Feature)) }).ToArray(), 1f);
            if (nll < bestNll - 1e-6)
            {
                bestNll = nll;
                best = (t0, slope);
            }
        }
        return best;
    }

    /// <summary>Mean negative log-likelihood of the true classes after <see cref="Calibration.Apply"/>.</summary>
    public static double Nll(IReadOnlyList<Labelled> data, float temperature)
    {
        var total = 0.0;
        foreach (var d in data)
        {
            var p = Calibration.Apply(d.Probabilities, temperature);
            total -= Math.Log(Math.Max(p[d.Truth], 1e-12));
        }
        return data.Count == 0 ? 0 : total / data.Count;
    }

    /// <summary>The temperature in [0.05, 20] with the least NLL (golden-section search on log T; NLL is unimodal in it).</summary>
    public static float FitTemperature(IReadOnlyList<Labelled> data)
    {
        if (data.Count == 0)
        {
            return 1f;
        }
        double a = Math.Log(0.05), b = Math.Log(20);
        var ratio = (Math.Sqrt(5) - 1) / 2;
        double c = b - ratio * (b - a), d = a + ratio * (b - a);
        double fc = Nll(data, (float)Math.Exp(c)), fd = Nll(data, (float)Math.Exp(d));
        for (var i = 0; i < 60; i++)
        {
            if (fc < fd)
            {
                b = d; d = c; fd = fc;
                c = b - ratio * (b - a);
                fc = Nll(data, (float)Math.Exp(c));
            }
            else
            {
                a = c; c = d; fc = fd;
                d = a + ratio * (b - a);
                fd = Nll(data, (float)Math.Exp(d));
            }
        }
        return (float)Math.Exp((a + b) / 2);
    }

    /// <summary>
    /// The lowest confidence c such that answers at or above c were right at least <paramref name="precision"/> of the
    /// time (and there were at least <paramref name="minimum"/> of them); 1 when no such level exists, i.e. never sure.
    /// </summary>
    public static float SureThreshold(IReadOnlyList<(double Confidence, bool Correct)> answers, double precision, int minimum = 10)
    {
        var sorted = answers.OrderByDescending(a => a.Confidence).ToArray();
        var best = 1.0;
        var correct = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            correct += sorted[i].Correct ? 1 : 0;
            var n = i + 1;
            // Only cut between distinct confidences.
            if (i + 1 < sorted.Length && sorted[i + 1].Confidence == sorted[i].Confidence)
            {
                continue;
            }
            if (n >= minimum && correct / (double)n >= precision)
            {
                best = sorted[i].Confidence;
            }
        }
        return (float)best;
    }
}
