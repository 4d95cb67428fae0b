using System.Numerics.Tensors;

namespace Otchatsa.Training;

/// <summary>One training row of <see cref="SoftmaxRegression"/>: features, a target distribution over the classes, a weight.</summary>
public sealed record SoftRow(float[] X, float[] Target, float Weight);

/// <summary>
/// Multinomial logistic regression with soft targets, example weights, an L2 penalty on the weights and an optional
/// second cross-entropy term on groups of classes (the taxonomy's parents: a wrong style in the right parent costs
/// less). Minimised by L-BFGS with a backtracking line search; deterministic, single-threaded.
/// Loss = Σᵢ wᵢ [CE(tᵢ, p) + α·CE(Tᵢ, P)] + λ/2·‖W‖², where P sums p over each group.
/// </summary>
public static class SoftmaxRegression
{
    public sealed record Result(float[][] Weights, float[] Bias, int Iterations, double Loss);

    public static Result Fit(
        IReadOnlyList<SoftRow> rows, int classes, float l2, int[]? groupOf = null, float groupWeight = 0f,
        int maxIterations = 400, double tolerance = 1e-7)
    {
        if (rows.Count == 0)
        {
            throw new ArgumentException("No training rows.", nameof(rows));
        }
        var d = rows[0].X.Length;
        var n = (d + 1) * classes;
        var theta = new double[n];
        var groups = groupOf is null || groupWeight <= 0 ? 0 : groupOf.Max() + 1;
        var objective = new Objective(rows, classes, d, l2, groupOf, groups, groupWeight);
        var (iterations, final) = Lbfgs(theta, objective.Evaluate, maxIterations, tolerance);
        var weights = new float[classes][];
        var bias = new float[classes];
        for (var k = 0; k < classes; k++)
        {
            weights[k] = new float[d];
            for (var j = 0; j < d; j++)
            {
                weights[k][j] = (float)theta[k * (d + 1) + j];
            }
            bias[k] = (float)theta[k * (d + 1) + d];
        }
        return new Result(weights, bias, iterations, final);
    }

    /// <summary>
    /// The loss and its gradient at θ, laid out per class as its <c>d</c> weights then its bias. The scratch arrays are
    /// reused between rows and calls (every entry is written before it is read), so an evaluation allocates only W and ∇W.
    /// </summary>
    private sealed class Objective(IReadOnlyList<SoftRow> rows, int classes, int d, float l2, int[]? groupOf, int groups, float groupWeight)
    {
        private readonly float[] _z = new float[classes];
        private readonly float[] _coef = new float[classes];
        private readonly double[] _groupP = new double[Math.Max(groups, 1)];
        private readonly double[] _groupT = new double[Math.Max(groups, 1)];

        public double Evaluate(double[] t, double[] grad)
        {
            Array.Clear(grad);
            var w = new float[classes][];
            for (var k = 0; k < classes; k++)
            {
                w[k] = new float[d];
                for (var j = 0; j < d; j++)
                {
                    w[k][j] = (float)t[k * (d + 1) + j];
                }
            }
            var gw = new float[classes][];
            for (var k = 0; k < classes; k++)
            {
                gw[k] = new float[d];
            }
            var gb = new double[classes];
            var loss = 0.0;
            foreach (var row in rows)
            {
                AddRow(row, w, t, gw, gb, ref loss);
            }
            for (var k = 0; k < classes; k++)
            {
                for (var j = 0; j < d; j++)
                {
                    var wk = t[k * (d + 1) + j];
                    loss += 0.5 * l2 * wk * wk;
                    grad[k * (d + 1) + j] = gw[k][j] + l2 * wk;
                }
                grad[k * (d + 1) + d] = gb[k];
            }
            return loss;
        }

        /// <summary>One row: its cross-entropy terms into <paramref name="loss"/>, its gradient into ∇W and ∇b.</summary>
        private void AddRow(SoftRow row, float[][] w, double[] t, float[][] gw, double[] gb, ref double loss)
        {
            var z = _z;
            var coef = _coef;
            for (var k = 0; k < classes; k++)
            {
                z[k] = TensorPrimitives.Dot(w[k], row.X) + (float)t[k * (d + 1) + d];
            }
            var max = TensorPrimitives.Max(z);
            double sum = 0;
            for (var k = 0; k < classes; k++)
            {
                sum += Math.Exp(z[k] - max);
            }
            var logSum = max + Math.Log(sum);
            if (groups > 0)
            {
                Array.Clear(_groupP);
                Array.Clear(_groupT);
            }
            for (var k = 0; k < classes; k++)
            {
                var logP = z[k] - logSum;
                var p = Math.Exp(logP);
                if (row.Target[k] > 0)
                {
                    loss -= row.Weight * row.Target[k] * logP;
                }
                coef[k] = (float)(p - row.Target[k]);
                if (groups > 0)
                {
                    _groupP[groupOf![k]] += p;
                    _groupT[groupOf[k]] += row.Target[k];
                }
            }
            if (groups > 0)
            {
                AddGroupTerms(row, logSum, ref loss);
            }
            for (var k = 0; k < classes; k++)
            {
                var c = coef[k] * row.Weight;
                if (c != 0)
                {
                    TensorPrimitives.MultiplyAdd(row.X, c, gw[k], gw[k]);
                    gb[k] += c;
                }
            }
        }

        /// <summary>The parents' cross-entropy of one row (its group sums are in the scratch arrays), and its share of the logits' gradient.</summary>
        private void AddGroupTerms(SoftRow row, double logSum, ref double loss)
        {
            var groupP = _groupP;
            var groupT = _groupT;
            for (var g = 0; g < groups; g++)
            {
                if (groupT[g] > 0)
                {
                    loss -= row.Weight * groupWeight * groupT[g] * Math.Log(Math.Max(groupP[g], 1e-300));
                }
            }
            // d/dz_k of −Σ_g T_g log P_g = p_k − T_{g(k)} p_k / P_{g(k)}.
            for (var k = 0; k < classes; k++)
            {
                var g = groupOf![k];
                var p = Math.Exp(_z[k] - logSum);
                _coef[k] += (float)(groupWeight * (p - (groupP[g] > 0 ? groupT[g] * p / groupP[g] : 0)));
            }
        }
    }

    /// <summary>Limited-memory BFGS (10 pairs) with Armijo backtracking; minimises in place, returns iterations and the final value.</summary>
    internal static (int Iterations, double Value) Lbfgs(double[] x, Func<double[], double[], double> f, int maxIterations, double tolerance)
    {
        var n = x.Length;
        var g = new double[n];
        var value = f(x, g);
        var history = new Pairs();
        var direction = new double[n];
        var candidate = new double[n];
        var candidateGrad = new double[n];
        var iteration = 0;
        for (; iteration < maxIterations; iteration++)
        {
            var slope = SearchDirection(g, history, direction);
            if (!LineSearch(x, g, ref value, direction, slope, f, candidate, candidateGrad, history, out var improvement))
            {
                break;
            }
            if (improvement <= tolerance * Math.Max(1, Math.Abs(value)))
            {
                return (iteration + 1, value);
            }
        }
        return (iteration, value);
    }

    /// <summary>The last (at most 10) steps s and gradient changes y of L-BFGS, with ρ = 1 / (s·y).</summary>
    private sealed class Pairs
    {
        private const int Memory = 10;

        public List<double[]> S { get; } = [];
        public List<double[]> Y { get; } = [];
        public List<double> Rho { get; } = [];

        public void Add(double[] s, double[] y, double sy)
        {
            S.Add(s); Y.Add(y); Rho.Add(1 / sy);
            if (S.Count > Memory)
            {
                S.RemoveAt(0); Y.RemoveAt(0); Rho.RemoveAt(0);
            }
        }

        public void Clear()
        {
            S.Clear(); Y.Clear(); Rho.Clear();
        }
    }

    /// <summary>Two-loop recursion: direction = −H·g (steepest descent when that is not downhill); returns g·direction.</summary>
    private static double SearchDirection(double[] g, Pairs history, double[] direction)
    {
        var (s, y, rho) = (history.S, history.Y, history.Rho);
        var n = g.Length;
        Array.Copy(g, direction, n);
        var alpha = new double[s.Count];
        for (var i = s.Count - 1; i >= 0; i--)
        {
            alpha[i] = rho[i] * Dot(s[i], direction);
            Axpy(-alpha[i], y[i], direction);
        }
        var gamma = s.Count > 0 ? Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]) : 1.0 / Math.Max(1e-12, Math.Sqrt(Dot(g, g)));
        for (var i = 0; i < n; i++)
        {
            direction[i] *= gamma;
        }
        for (var i = 0; i < s.Count; i++)
        {
            var beta = rho[i] * Dot(y[i], direction);
            Axpy(alpha[i] - beta, s[i], direction);
        }
        for (var i = 0; i < n; i++)
        {
            direction[i] = -direction[i];
        }
        var slope = Dot(g, direction);
        if (slope >= 0)
        {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.Clear();
            for (var i = 0; i < n; i++)
            {
                direction[i] = -g[i];
            }
            slope = Dot(g, direction);
        }
        return slope;
    }

    /// <summary>
    /// Armijo backtracking along <paramref name="direction"/> (at most 40 halvings). On success x, g and value move to the
    /// accepted point, the pair is remembered, and <paramref name="improvement"/> is how much the value fell.
    /// </summary>
    private static bool LineSearch(
        double[] x, double[] g, ref double value, double[] direction, double slope, Func<double[], double[], double> f,
        double[] candidate, double[] candidateGrad, Pairs history, out double improvement)
    {
        var n = x.Length;
        var step = 1.0;
        for (var tries = 0; tries < 40; tries++, step *= 0.5)
        {
            for (var i = 0; i < n; i++)
            {
                candidate[i] = x[i] + step * direction[i];
            }
            var next = f(candidate, candidateGrad);
            if (next <= value + 1e-4 * step * slope)
            {
                var si = new double[n];
                var yi = new double[n];
                for (var i = 0; i < n; i++)
                {
                    si[i] = candidate[i] - x[i];
                    yi[i] = candidateGrad[i] - g[i];
                }
                var sy = Dot(si, yi);
                if (sy > 1e-12)
                {
                    history.Add(si, yi, sy);
                }
                Array.Copy(candidate, x, n);
                Array.Copy(candidateGrad, g, n);
                improvement = value - next;
                value = next;
                return true;
            }
        }
        improvement = 0;
        return false;
    }

    private static double Dot(double[] a, double[] b) => TensorPrimitives.Dot<double>(a, b);

    private static void Axpy(double a, double[] x, double[] y) => TensorPrimitives.MultiplyAdd(x, a, y, y);
}
