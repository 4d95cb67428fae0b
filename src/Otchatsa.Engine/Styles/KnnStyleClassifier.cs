using Otchatsa.Catalog;
using Otchatsa.Styles;

namespace Otchatsa.Styles;

/// <summary>
/// Style as a similarity-weighted vote of the nearest labelled catalog photos. Used when no trained head is present;
/// it only names styles that occur as labels in the catalog.
/// </summary>
public sealed class KnnStyleClassifier : IStyleClassifier
{
    private readonly ICatalogView _catalog;
    private readonly int _voters;
    private readonly float _temperature;
    private readonly float _priorPower;
    private readonly Dictionary<string, int> _labelCounts;

    /// <param name="catalog">The catalog whose labelled photos vote.</param>
    /// <param name="voters">How many labelled neighbours vote.</param>
    /// <param name="temperature">Softmax temperature of the vote over cosine similarity.</param>
    /// <param name="priorPower">
    /// Divide each style's vote by (its labelled photos in the catalog)^power: 0 = plain vote (a catalog of mostly one
    /// style votes mostly for it), 1 = a likelihood ratio that ignores how common the style is in this catalog.
    /// </param>
    public KnnStyleClassifier(ICatalogView catalog, int voters = 15, float temperature = 0.05f, float priorPower = 0f)
    {
        _catalog = catalog;
        _voters = voters;
        _temperature = temperature;
        _priorPower = priorPower;
        _labelCounts = catalog.Items.Where(i => i.StyleIsLabel && i.Style is not null)
            .GroupBy(i => i.Style!.Id).ToDictionary(g => g.Key, g => g.Count());
        Classes = catalog.Items
            .Where(i => i.StyleIsLabel && i.Style is not null)
            .Select(i => i.Style!)
            .Distinct()
            .OrderBy(s => StyleTaxonomyOrder(s))
            .ToArray();
    }

    public string Name => "knn";

    public IReadOnlyList<FashionStyle> Classes { get; }

    public IReadOnlyList<StyleScore> Classify(float[] embedding, IReadOnlyList<Neighbor> neighbors)
    {
        if (Classes.Count == 0)
        {
            return [];
        }
        var votes = Classes.ToDictionary(s => s.Id, _ => 0.0);
        var used = 0;
        foreach (var neighbor in neighbors)
        {
            var item = _catalog.Item(neighbor.Key);
            if (!item.StyleIsLabel || item.Style is null)
            {
                continue;
            }
            // Softmax-style weights: a close neighbour counts much more than the fifteenth.
            votes[item.Style.Id] += Math.Exp((neighbor.Similarity - 1) / _temperature);
            if (++used == _voters)
            {
                break;
            }
        }
        if (_priorPower > 0)
        {
            foreach (var id in votes.Keys.ToArray())
            {
                votes[id] /= Math.Pow(Math.Max(1, _labelCounts.GetValueOrDefault(id)), _priorPower);
            }
        }
        // A little mass on every class keeps the distribution proper when few labelled neighbours were found.
        var prior = 1e-6;
        var total = votes.Values.Sum() + prior * votes.Count;
        return Classes
            .Select(s => new StyleScore(s, (float)((votes[s.Id] + prior) / total)))
            .OrderByDescending(s => s.Score)
            .ToArray();
    }

    private static int StyleTaxonomyOrder(FashionStyle style) =>
        StyleTaxonomy.All.ToList().FindIndex(s => s.Id == style.Id);
}
