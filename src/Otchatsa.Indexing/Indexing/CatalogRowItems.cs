using Otchatsa.Catalog;

namespace Otchatsa.Indexing;

/// <summary>A manifest row as the catalog item the store keeps.</summary>
public static class CatalogRowItems
{
    /// <summary>Copies the manifest fields of <paramref name="row"/>; <see cref="CatalogItem.Id"/> stays 0 so the store assigns one.</summary>
    public static CatalogItem ToItem(this CatalogRow row, int? width = null, int? height = null, string? predictedStyle = null)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new CatalogItem
        {
            Image = row.Image,
            Mall = row.Mall,
            Style = row.Style,
            Substyle = row.Substyle,
            Title = row.Title,
            Url = row.ProductUrl,
            Price = row.Price,
            MallUrl = row.MallUrl,
            Product = row.Product,
            Garments = row.Garments,
            Width = width,
            Height = height,
            PredictedStyle = predictedStyle,
        };
    }
}
