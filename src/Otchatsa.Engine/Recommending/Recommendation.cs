using Otchatsa.Catalog;
using Otchatsa.Styles;

namespace Otchatsa.Recommending;

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
    StyleParent? Parent = null);

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
