using Otchatsa.Catalog;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Tests.Classification;

public sealed class NeighbourMixedStyleClassifierTests
{
    private static readonly FashionStyle Resort = StyleTaxonomy.Get("resort");
    private static readonly FashionStyle Retro = StyleTaxonomy.Get("retro");

    [Fact]
    public void Close_labelled_neighbours_outvote_a_hesitant_head()
    {
        using var catalog = Catalog(labelled: true);
        var mixed = new NeighbourMixedStyleClassifier(new FixedHead((Resort, 0.55f), (Retro, 0.45f)), catalog);
        var query = Unit(1, 0.05f);

        var styles = mixed.Classify(query, catalog.Search(query, 10));

        Assert.Equal("retro", styles[0].Style.Id);
        Assert.Equal(1.0, styles.Sum(s => s.Score), 4);
        Assert.Equal(["resort", "retro"], mixed.Classes.Select(c => c.Id).Order());
    }

    [Fact]
    public void Without_labelled_neighbours_the_head_answers_alone()
    {
        using var catalog = Catalog(labelled: false);
        var head = new FixedHead((Resort, 0.55f), (Retro, 0.45f));
        var mixed = new NeighbourMixedStyleClassifier(head, catalog);
        var query = Unit(1, 0.05f);

        var styles = mixed.Classify(query, catalog.Search(query, 10));

        Assert.Equal(["resort", "retro"], styles.Select(s => s.Style.Id));
        Assert.Equal(0.55f, styles[0].Score, 4);
    }

    private static CatalogIndex Catalog(bool labelled)
    {
        // Five retro photos right next to the query, five resort photos far away.
        var items = Enumerable.Range(1, 10).Select(i => (
            new CatalogItem { Id = i, Image = $"{i}.jpg", Mall = "m", Style = labelled ? (i <= 5 ? "retro" : "resort") : null },
            i <= 5 ? Unit(1, 0.01f * i) : Unit(-1, 0.01f * i))).ToArray();
        return CatalogIndex.InMemory(items, 4);
    }

    private static float[] Unit(float x, float y)
    {
        var v = new[] { x, y, 0.1f, 0f };
        var norm = MathF.Sqrt(v.Sum(a => a * a));
        return v.Select(a => a / norm).ToArray();
    }

    private sealed class FixedHead(params (FashionStyle Style, float Score)[] scores) : IStyleClassifier
    {
        public string Name => "fixed";
        public IReadOnlyList<FashionStyle> Classes => scores.Select(s => s.Style).ToArray();
        public IReadOnlyList<StyleScore> Classify(float[] embedding, IReadOnlyList<Neighbor> neighbors) =>
            scores.Select(s => new StyleScore(s.Style, s.Score)).OrderByDescending(s => s.Score).ToArray();
    }
}
