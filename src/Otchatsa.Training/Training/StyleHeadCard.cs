using Otchatsa.Pipeline;
using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// The model card written beside a style head (<c>style_head.onnx</c> → <c>style_head.card.json</c>): which styles it
/// knows and from how many examples, which embedding it expects, the data it was trained on, and its cross-validated
/// product-disjoint metrics.
/// </summary>
public sealed record StyleHeadCard
{
    public const string CurrentFormat = "otchatsa-style-head/1";

    public string Format { get; init; } = CurrentFormat;

    public required IReadOnlyList<CardClass> Classes { get; init; }

    /// <summary>The <see cref="Pipeline.EmbeddingSettings.Name"/> the head was trained on; it is only used with that view.</summary>
    public required string EmbeddingView { get; init; }

    public required int Dims { get; init; }

    /// <summary>The embedding and segmentation models behind the training vectors (id and SHA-256).</summary>
    public required IReadOnlyList<Catalog.ModelFingerprint> Models { get; init; }

    public required CardData Data { get; init; }

    public required CardTrainer Trainer { get; init; }

    /// <summary>Product-disjoint cross-validation of the same recipe on the same data; null when skipped.</summary>
    public CardMetrics? CrossValidation { get; init; }

    /// <summary>The same cross-validation, one entry per training manifest's queries.</summary>
    public IReadOnlyList<CardMetrics>? CrossValidationBySource { get; init; }

    /// <summary>Temperatures and thresholds fitted on the folds (also in the ONNX metadata, which is what serving reads).</summary>
    public Evaluation.CalibrationFit? Calibration { get; init; }

    public DateTimeOffset TrainedUtc { get; init; }

    /// <summary>Where the card of <paramref name="onnxPath"/> lives (<see cref="StyleHeadCardView.PathFor"/>).</summary>
    public static string PathFor(string onnxPath) => StyleHeadCardView.PathFor(onnxPath);

    public static StyleHeadCard Load(string path) => ModelCardFile.Load<StyleHeadCard>(path, "a style head card");

    public void Save(string path) => ModelCardFile.Save(this, path);
}

public sealed record CardClass(string Id, string NameKo, string NameEn, int Examples, int SubstyleExamples);

public sealed record CardData(string Manifest, string Sha256, int Rows, int UsedRows);

public sealed record CardTrainer(string Algorithm, float L2, float SubstyleWeight, bool BalancedClassWeights, int MinExamplesPerClass)
{
    /// <summary>Every option of the recipe (the one command in README reproduces it).</summary>
    public StyleHeadOptions? Options { get; init; }
}

public sealed record CardMetrics(
    int Folds,
    string Split,
    double Top1,
    double Top3,
    double MacroF1,
    IReadOnlyList<CardClassMetrics> PerClass)
{
    public string Queries { get; init; } = "";
    public double Ece { get; init; }
    public int StylesNamed { get; init; }
    public double ParentTop1 { get; init; }

    public static CardMetrics From(string queries, int folds, Evaluation.StyleMetrics m) =>
        new(folds, "product-disjoint (grouped by the product column), head mixed with the labelled neighbours, calibrated", m.Top1, m.Top3, m.MacroF1,
            m.PerClass.Where(c => c.Support > 0).Select(c => new CardClassMetrics(c.Id, c.Precision, c.Recall, c.F1, c.Support)).ToArray())
        {
            Queries = queries,
            Ece = m.Ece,
            StylesNamed = m.ClassesNamed,
            ParentTop1 = m.ParentTop1,
        };
}

public sealed record CardClassMetrics(string Id, double Precision, double Recall, double F1, int Support);
