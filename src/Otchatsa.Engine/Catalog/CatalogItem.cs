namespace Otchatsa.Catalog;

/// <summary>A catalog item as stored in <see cref="CatalogStore"/>. The thumbnail is fetched separately (<see cref="CatalogStore.GetThumbnail"/>).</summary>
public sealed record CatalogItem
{
    /// <summary>Row id in <c>items</c>, and the item's key in <see cref="VectorIndex"/> (see <see cref="VectorKey"/>). 0 = let the store assign one.</summary>
    public long Id { get; init; }

    /// <summary>The manifest's <c>image</c> cell as written; replies show this.</summary>
    public required string Image { get; init; }

    public string? Mall { get; init; }

    /// <summary>Style as labelled in the manifest (Korean or English id), if any.</summary>
    public string? Style { get; init; }

    public string? Substyle { get; init; }
    public string? Title { get; init; }

    /// <summary>Product page URL.</summary>
    public string? Url { get; init; }

    public string? Price { get; init; }
    public string? MallUrl { get; init; }
    public string? Product { get; init; }
    public string[] Garments { get; init; } = [];

    /// <summary>Pixel size of the decoded original image, if the builder recorded it.</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>Style the style head predicted for this image (used for mall profiles when <see cref="Style"/> is null).</summary>
    public string? PredictedStyle { get; init; }

    /// <summary>The key of this item's vector in <see cref="VectorIndex"/>.</summary>
    public ulong VectorKey => checked((ulong)Id);

    /// <summary>The labelled style, or the predicted one when the row had none.</summary>
    public string? EffectiveStyle => Style ?? PredictedStyle;
}

/// <summary>
/// A mall and its style profile: the share of each style among its items (labelled, or predicted when unlabelled).
/// Keys of <see cref="StyleShares"/> are whatever style ids the builder chose (the English ids, preferably); shares sum to 1.
/// </summary>
public sealed record MallRecord(string Name, string? Url, int ItemCount, IReadOnlyDictionary<string, double> StyleShares);
