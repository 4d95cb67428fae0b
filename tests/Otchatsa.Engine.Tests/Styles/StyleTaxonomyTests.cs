using Otchatsa.Styles;

namespace Otchatsa.Tests.Styles;

public sealed class StyleTaxonomyTests
{
    [Fact]
    public void The_taxonomy_has_23_styles_under_10_parents_with_unique_ids()
    {
        Assert.Equal(23, StyleTaxonomy.All.Count);
        Assert.Equal(10, StyleTaxonomy.Parents.Count);
        Assert.Equal(23, StyleTaxonomy.All.Select(s => s.Id).Distinct().Count());
        Assert.All(StyleTaxonomy.All, s => Assert.Contains(StyleTaxonomy.Parents, p => p.Id == s.Parent));
    }

    [Theory]
    [InlineData("로맨틱", "romantic")]
    [InlineData("romantic", "romantic")]
    [InlineData("  Romantic ", "romantic")]
    [InlineData("리조트", "resort")]
    [InlineData("레트로", "retro")]
    [InlineData("키치/키덜트", "kitsch")]
    [InlineData("Hip-Hop", "hiphop")]
    [InlineData("avant-garde", "avantgarde")]
    [InlineData("소피스트케이티드", "sophisticated")]
    [InlineData("밀리터리", "military")]
    public void Korean_names_english_ids_and_aliases_resolve_to_the_same_style(string text, string id)
    {
        Assert.True(StyleTaxonomy.TryResolve(text, out var style));
        Assert.Equal(id, style.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("gothic")]
    public void Unknown_values_do_not_resolve(string? text) => Assert.Null(StyleTaxonomy.Resolve(text));

    [Fact]
    public void Siblings_share_the_parent_category()
    {
        var classic = StyleTaxonomy.Get("classic");
        Assert.Equal(["preppy"], StyleTaxonomy.SiblingsOf(classic).Select(s => s.Id));
        Assert.Equal(["kitsch", "hiphop", "punk"], StyleTaxonomy.SiblingsOf(StyleTaxonomy.Get("retro")).Select(s => s.Id));
        Assert.Empty(StyleTaxonomy.SiblingsOf(StyleTaxonomy.Get("sporty")));
    }
}
