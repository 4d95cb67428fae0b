using Otchatsa.Catalog;
using Otchatsa.Numerics;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Tests.Recommendations;

public sealed class StrategyTests
{
    private static readonly FashionStyle Romantic = StyleTaxonomy.Get("romantic");

    /// <summary>
    /// Eight malls of one style, each with its own look (a cluster of vectors), and a query in mall "m5"'s look:
    /// the style shares are all 100 %, so only visual evidence can find the right mall.
    /// </summary>
    private static (CatalogIndex Index, float[] Query) OneStyleCatalog()
    {
        const int dims = 16;
        var random = new Random(7);
        var items = new List<(CatalogItem, float[])>();
        float[] Around(int mall)
        {
            var v = new float[dims];
            v[mall] = 1f;
            for (var d = 0; d < dims; d++)
            {
                v[d] += 0.15f * (float)random.NextDouble();
            }
            VectorMath.Normalize(v);
            return v;
        }
        for (var mall = 0; mall < 8; mall++)
        {
            for (var i = 0; i < 5; i++)
            {
                items.Add((new CatalogItem { Id = items.Count + 1, Image = $"m{mall}/{i}.jpg", Mall = $"m{mall}", Style = "romantic" }, Around(mall)));
            }
        }
        return (CatalogIndex.InMemory(items, dims), Around(5));
    }

    [Fact]
    public void Blend_finds_the_visually_matching_mall_when_every_mall_has_the_same_style()
    {
        var (index, query) = OneStyleCatalog();
        using (index)
        {
            var styles = new[] { new StyleScore(Romantic, 1f) };
            var neighbors = index.Search(query, 64);

            var blend = new BlendStrategy().Recommend(index, query, styles, neighbors);
            var seed = new SeedStrategy().Recommend(index, query, styles, neighbors);

            Assert.Equal("m5", blend[0].Mall.Name);
            Assert.DoesNotContain(seed, m => m.Mall.Name == "m5");
            Assert.All(blend[0].Items, i => Assert.Equal("m5", i.Item.Mall));
        }
    }

    [Fact]
    public void Blend_answers_three_malls_with_three_items_each()
    {
        var (index, query) = OneStyleCatalog();
        using (index)
        {
            var malls = new BlendStrategy().Recommend(index, query, [new StyleScore(Romantic, 1f)], index.Search(query, 64));

            Assert.Equal(3, malls.Count);
            Assert.All(malls, m => Assert.Equal(3, m.Items.Count));
            Assert.Equal(3, malls.Select(m => m.Mall.Name).Distinct().Count());
        }
    }
}
