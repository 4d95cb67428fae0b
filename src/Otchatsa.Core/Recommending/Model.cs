using Otchatsa.Styles;

namespace Otchatsa.Recommending;

/// <summary>A catalog photo as the recommender sees it. <see cref="Key"/> is its key in the vector index.</summary>
public sealed record CatalogEntry(
    ulong Key,
    string Image,
    string Mall,
    FashionStyle? Style,
    bool StyleIsLabel,
    string? Title,
    string? Url,
    string? Price,
    IReadOnlyList<string> Garments,
    string? Product);

/// <summary>A mall and its style profile: how many of its photos carry each style (labelled or predicted).</summary>
public sealed record MallProfile(string Name, string? Url, int ItemCount, IReadOnlyDictionary<string, int> StyleCounts)
{
    /// <summary>Share of the mall's photos that have the style.</summary>
    public float Share(string styleId) =>
        ItemCount == 0 ? 0f : StyleCounts.GetValueOrDefault(styleId) / (float)ItemCount;

    /// <summary>The mall's mood in the seed's sense: its most frequent style.</summary>
    public string? Mood => StyleCounts.Count == 0 ? null : StyleCounts.MaxBy(kv => (kv.Value, kv.Key)).Key;
}

/// <summary>A nearest neighbour from the vector index; similarity is cosine.</summary>
public readonly record struct Neighbor(ulong Key, float Similarity);

/// <summary>A style with its probability.</summary>
public sealed record StyleScore(FashionStyle Style, float Score);

public sealed record ItemMatch(CatalogEntry Item, float Similarity);

public sealed record MallMatch(MallProfile Mall, float Score, float StyleShare, IReadOnlyList<ItemMatch> Items);

/// <summary>
/// The whole answer for one photo: style, runner-ups, three malls with three items each. <paramref name="NotAnOutfit"/>:
/// the photo looks like nothing the style head was trained on (no style is named; the most similar items still are).
/// <paramref name="Parent"/>: the parent category when the styles under it together are certain enough.
/// </summary>
public sealed record Recommendation(
    StyleScore? Style,
    IReadOnlyList<StyleScore> TopStyles,
    IReadOnlyList<MallMatch> Malls,
    string Strategy,
    bool Unsure,
    bool NotAnOutfit = false,
    Styles.StyleParent? Parent = null);

/// <summary>The read side of a built index that classifiers and strategies work on.</summary>
public interface ICatalogView
{
    IReadOnlyList<CatalogEntry> Items { get; }
    IReadOnlyDictionary<string, MallProfile> Malls { get; }
    CatalogEntry Item(ulong key);
    IReadOnlyList<CatalogEntry> ItemsOf(string mall);

    /// <summary>The stored, unit-length vector of a catalog photo.</summary>
    ReadOnlySpan<float> VectorOf(ulong key);

    /// <summary>Approximate nearest neighbours (HNSW), best first.</summary>
    IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count);
}

/// <summary>Turns an embedding into a probability for each style it knows.</summary>
public interface IStyleClassifier
{
    string Name { get; }

    /// <summary>The styles this classifier can name; replies never name any other.</summary>
    IReadOnlyList<FashionStyle> Classes { get; }

    /// <summary>Styles sorted by descending probability (the probabilities sum to 1 over <see cref="Classes"/>).</summary>
    IReadOnlyList<StyleScore> Classify(float[] embedding, IReadOnlyList<Neighbor> neighbors);
}

/// <summary>Picks three malls and three items in each.</summary>
public interface IRecommendationStrategy
{
    string Name { get; }

    IReadOnlyList<MallMatch> Recommend(
        ICatalogView catalog,
        float[] query,
        IReadOnlyList<StyleScore> styles,
        IReadOnlyList<Neighbor> neighbors);
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
