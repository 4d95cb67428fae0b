using Otchatsa.Catalog;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;

namespace Otchatsa.Rendering;

/// <summary>The nine recommended items as one 3×3 picture (mall per row), for the demo and for group-chat replies.</summary>
public static class AnswerCollage
{
    public static CollageResult Render(CatalogIndex index, RecommendResult result, CollageRenderer? renderer = null)
    {
        var tiles = new List<CollageTile>();
        foreach (var mall in result.Recommendation.Malls)
        {
            foreach (var item in mall.Items)
            {
                var caption = item.Item.Title is null ? mall.Mall.Name : $"{mall.Mall.Name} · {item.Item.Title}";
                tiles.Add(CollageTile.FromEncoded(index.Thumbnail(item.Item.Key) ?? [], caption));
            }
        }
        var style = result.Recommendation.Style;
        var header = style is null ? null : $"{style.Style.NameEn} {style.Score:P0}";
        return (renderer ?? new CollageRenderer()).Render(tiles, header);
    }
}
