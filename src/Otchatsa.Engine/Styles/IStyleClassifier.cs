using Otchatsa.Catalog;

namespace Otchatsa.Styles;

/// <summary>A style with its probability.</summary>
public sealed record StyleScore(FashionStyle Style, float Score);

/// <summary>Turns an embedding into a probability for each style it knows.</summary>
public interface IStyleClassifier
{
    string Name { get; }

    /// <summary>The styles this classifier can name; replies never name any other.</summary>
    IReadOnlyList<FashionStyle> Classes { get; }

    /// <summary>Styles sorted by descending probability (the probabilities sum to 1 over <see cref="Classes"/>).</summary>
    IReadOnlyList<StyleScore> Classify(float[] embedding, IReadOnlyList<Neighbor> neighbors);
}

/// <summary>What a trained head knows about itself: its training counts and calibrated thresholds.</summary>
public interface IStyleHeadInfo
{
    /// <summary>Main-style training examples per class id.</summary>
    IReadOnlyDictionary<string, int> Examples { get; }

    /// <summary>Below this calibrated top-style probability the answer is "not sure".</summary>
    float UnsureBelow { get; }

    /// <summary>At or above this summed probability of one parent category, the parent is named as certain.</summary>
    float ParentSureAbove { get; }

    /// <summary>Below this <see cref="OutfitSimilarity"/> the photo does not look like an outfit (null: no check).</summary>
    float? OutfitThreshold { get; }

    float? OutfitSimilarity(float[] embedding);
}
