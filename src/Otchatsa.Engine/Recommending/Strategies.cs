using Otchatsa.Catalog;
using Otchatsa.Numerics;
using Otchatsa.Styles;

namespace Otchatsa.Recommending;

/// <summary>
/// The seed project's rule, kept as a baseline: take the top style s (or the sibling style with the most malls when
/// fewer than three malls carry s), rank malls by the share of s among their photos, and in each mall show the photos of
/// style s most similar to the query (topped up with other photos when the mall has fewer than three of s).
/// </summary>
public sealed class SeedStrategy : IRecommendationStrategy
{
    public const int MallCount = 3;
    public const int ItemsPerMall = 3;

    public string Name => "seed";

    public IReadOnlyList<MallMatch> Recommend(
        ICatalogView catalog, float[] query, IReadOnlyList<StyleScore> styles, IReadOnlyList<Neighbor> neighbors)
    {
        if (styles.Count == 0)
        {
            return [];
        }
        var style = ChooseStyle(catalog, styles[0].Style);
        return StyleMalls.Top(catalog, style, MallCount)
            .Select(m => new MallMatch(
                m,
                m.Share(style.Id),
                m.Share(style.Id),
                ItemRanking.Top(catalog, query, catalog.ItemsOf(m.Name), ItemsPerMall, style, styleBonus: 1f)))
            .ToArray();
    }

    private static FashionStyle ChooseStyle(ICatalogView catalog, FashionStyle top)
    {
        int MallsWith(FashionStyle s) => catalog.Malls.Values.Count(m => m.Share(s.Id) > 0);
        if (MallsWith(top) >= MallCount)
        {
            return top;
        }
        var sibling = StyleTaxonomy.SiblingsOf(top).MaxBy(MallsWith);
        return sibling is not null && MallsWith(sibling) > MallsWith(top) ? sibling : top;
    }
}

/// <summary>Tunable weights of <see cref="BlendStrategy"/>.</summary>
public sealed record BlendOptions
{
    /// <summary>
    /// Weight of the style agreement term next to visual affinity. Small by measurement: on the K-Fashion sample most
    /// malls share the same two styles, so style separates few malls and visual evidence carries the choice.
    /// </summary>
    public float StyleWeight { get; init; } = 0.05f;

    /// <summary>Pseudo-photos of the catalog-wide style mix added to every mall profile (shrinks tiny malls).</summary>
    public float ProfilePrior { get; init; } = 3f;

    /// <summary>Malls with fewer photos than this are used only when not enough larger malls match.</summary>
    public int MinMallItems { get; init; } = 3;

    /// <summary>How many nearest neighbours the HNSW search brings back as candidates.</summary>
    public int Candidates { get; init; } = 256;

    /// <summary>How many of a mall's closest photos make up its visual affinity.</summary>
    public int AffinityDepth { get; init; } = 3;

    /// <summary>Similarity bonus for items of the query's style when choosing the nine items.</summary>
    public float ItemStyleBonus { get; init; } = 0.02f;

    /// <summary>
    /// Weight of the neighbour vote: each of the <see cref="VoteDepth"/> nearest photos votes for its mall with
    /// exp((similarity − best) / <see cref="VoteTemperature"/>), and a mall's share of the votes is added. Unlike the
    /// affinity (a few best photos), the vote rewards malls with many similar photos.
    /// </summary>
    public float VoteWeight { get; init; } = 0.3f;

    public int VoteDepth { get; init; } = 32;

    public float VoteTemperature { get; init; } = 0.05f;

    /// <summary>Weight of log(photos in the mall): with equal evidence, a larger mall is the likelier answer.</summary>
    public float SizeWeight { get; init; }
}

/// <summary>
/// The default strategy: a mall's score is its visual affinity to the query (mean similarity of its closest photos
/// among the HNSW candidates) plus the agreement between the query's whole style distribution and the mall's smoothed
/// style profile. Tiny malls need more evidence; if the top style has too few malls, its siblings still count through
/// the style distribution, and the seed's sibling fallback applies to the items.
/// </summary>
public sealed class BlendStrategy(BlendOptions? options = null) : IRecommendationStrategy
{
    private readonly BlendOptions _options = options ?? new BlendOptions();

    public string Name => "blend";

    public IReadOnlyList<MallMatch> Recommend(
        ICatalogView catalog, float[] query, IReadOnlyList<StyleScore> styles, IReadOnlyList<Neighbor> neighbors)
    {
        var affinity = VisualAffinity(catalog, neighbors);
        var votes = Votes(catalog, neighbors);
        var prior = CatalogStyleMix(catalog);
        var floor = neighbors.Count == 0 ? 0f : neighbors[^1].Similarity;
        var top = styles.Count > 0 ? styles[0].Style : null;

        var scored = new List<(MallProfile Mall, float Score, float Share)>();
        foreach (var mall in catalog.Malls.Values)
        {
            if (mall.ItemCount == 0)
            {
                continue;
            }
            var visual = affinity.TryGetValue(mall.Name, out var sims) ? Affinity(sims, floor) : floor;
            var agreement = 0f;
            foreach (var s in styles)
            {
                var smoothed = (mall.StyleCounts.GetValueOrDefault(s.Style.Id) + _options.ProfilePrior * prior.GetValueOrDefault(s.Style.Id))
                               / (mall.ItemCount + _options.ProfilePrior);
                agreement += s.Score * smoothed;
            }
            var score = visual
                        + _options.StyleWeight * agreement
                        + _options.VoteWeight * votes.GetValueOrDefault(mall.Name)
                        + _options.SizeWeight * MathF.Log(mall.ItemCount);
            scored.Add((mall, score, top is null ? 0f : mall.Share(top.Id)));
        }

        var ordered = scored
            .OrderByDescending(m => m.Mall.ItemCount >= _options.MinMallItems)
            .ThenByDescending(m => m.Score)
            .ThenBy(m => m.Mall.Name, StringComparer.Ordinal)
            .Take(SeedStrategy.MallCount);
        return ordered
            .Select(m => new MallMatch(
                m.Mall,
                m.Score,
                m.Share,
                ItemRanking.Top(catalog, query, catalog.ItemsOf(m.Mall.Name), SeedStrategy.ItemsPerMall, top, _options.ItemStyleBonus)))
            .ToArray();
    }

    private Dictionary<string, List<float>> VisualAffinity(ICatalogView catalog, IReadOnlyList<Neighbor> neighbors)
    {
        var byMall = new Dictionary<string, List<float>>(StringComparer.Ordinal);
        foreach (var neighbor in neighbors)
        {
            var mall = catalog.Item(neighbor.Key).Mall;
            if (mall.Length == 0)
            {
                continue;
            }
            if (!byMall.TryGetValue(mall, out var list))
            {
                byMall[mall] = list = [];
            }
            if (list.Count < _options.AffinityDepth)
            {
                list.Add(neighbor.Similarity);
            }
        }
        return byMall;
    }

    private Dictionary<string, float> Votes(ICatalogView catalog, IReadOnlyList<Neighbor> neighbors)
    {
        var votes = new Dictionary<string, float>(StringComparer.Ordinal);
        if (_options.VoteWeight == 0 || neighbors.Count == 0)
        {
            return votes;
        }
        var best = neighbors[0].Similarity;
        var total = 0f;
        foreach (var neighbor in neighbors.Take(_options.VoteDepth))
        {
            var mall = catalog.Item(neighbor.Key).Mall;
            var vote = MathF.Exp((neighbor.Similarity - best) / _options.VoteTemperature);
            total += vote;
            if (mall.Length > 0)
            {
                votes[mall] = votes.GetValueOrDefault(mall) + vote;
            }
        }
        foreach (var key in votes.Keys.ToArray())
        {
            votes[key] /= total;
        }
        return votes;
    }

    // Photos that did not make the candidate list are at most as similar as the last candidate: count them at that floor.
    private float Affinity(List<float> sims, float floor)
    {
        var sum = sims.Sum() + (_options.AffinityDepth - sims.Count) * floor;
        return sum / _options.AffinityDepth;
    }

    private static Dictionary<string, float> CatalogStyleMix(ICatalogView catalog)
    {
        var counts = new Dictionary<string, float>();
        var total = 0;
        foreach (var mall in catalog.Malls.Values)
        {
            foreach (var (style, count) in mall.StyleCounts)
            {
                counts[style] = counts.GetValueOrDefault(style) + count;
                total += count;
            }
        }
        foreach (var key in counts.Keys.ToArray())
        {
            counts[key] /= Math.Max(1, total);
        }
        return counts;
    }
}

/// <summary>Chooses the items shown for a mall: most similar first, with a bonus for the wanted style.</summary>
public static class ItemRanking
{
    public static IReadOnlyList<ItemMatch> Top(
        ICatalogView catalog, float[] query, IReadOnlyList<CatalogEntry> items, int count, FashionStyle? style, float styleBonus)
    {
        return items
            .Select(item => new ItemMatch(item, VectorMath.Dot(query, catalog.VectorOf(item.Key))))
            .OrderByDescending(m => m.Similarity + (style is not null && m.Item.Style?.Id == style.Id ? styleBonus : 0f))
            .ThenBy(m => m.Item.Key)
            .Take(count)
            .ToArray();
    }
}

/// <summary>Strategy lookup by the names used on the command line.</summary>
public static class Strategies
{
    public const string Default = "blend";

    public static IRecommendationStrategy Create(string? name) => (name ?? Default).ToLowerInvariant() switch
    {
        "seed" => new SeedStrategy(),
        "blend" => new BlendStrategy(),
        _ => throw new ArgumentException($"Unknown strategy '{name}': use seed or blend."),
    };
}
