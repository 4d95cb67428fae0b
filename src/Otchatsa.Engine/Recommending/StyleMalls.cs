using Otchatsa.Catalog;
using Otchatsa.Styles;

namespace Otchatsa.Recommending;

/// <summary>
/// The one rule for "the malls of a style", used by the seed strategy and by every front end's style look-up
/// (<c>/style</c> in the chats, the style page and <c>/api/styles</c> on the web), so they always name the same malls.
/// </summary>
public static class StyleMalls
{
    /// <summary>
    /// Malls carrying <paramref name="style"/>: the highest share of their photos first, then the most photos of it,
    /// then by name (ordinal), so equal shares always come out in the same order.
    /// </summary>
    public static IReadOnlyList<MallProfile> Top(ICatalogView catalog, FashionStyle style, int count = SeedStrategy.MallCount)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(style);
        return catalog.Malls.Values
            .Where(m => m.Share(style.Id) > 0)
            .OrderByDescending(m => m.Share(style.Id))
            .ThenByDescending(m => m.StyleCounts.GetValueOrDefault(style.Id))
            .ThenBy(m => m.Name, StringComparer.Ordinal)
            .Take(count)
            .ToArray();
    }

    /// <summary>
    /// Example photos of <paramref name="style"/> from each of <paramref name="malls"/> in their order: up to
    /// <paramref name="perMall"/> each, labelled photos before predicted ones, then by key.
    /// </summary>
    public static IReadOnlyList<CatalogEntry> Examples(
        ICatalogView catalog, IReadOnlyList<MallProfile> malls, FashionStyle style, int perMall = SeedStrategy.ItemsPerMall)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(malls);
        ArgumentNullException.ThrowIfNull(style);
        return malls
            .SelectMany(m => catalog.ItemsOf(m.Name)
                .Where(i => i.Style?.Id == style.Id)
                .OrderByDescending(i => i.StyleIsLabel)
                .ThenBy(i => i.Key)
                .Take(perMall))
            .ToArray();
    }
}
