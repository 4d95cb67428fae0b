using Otchatsa.Styles;

namespace Otchatsa.Catalog;

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
