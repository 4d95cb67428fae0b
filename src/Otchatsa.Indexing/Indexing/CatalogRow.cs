namespace Otchatsa.Indexing;

/// <summary>
/// One row of a catalog manifest, as read by <see cref="CatalogManifest.Read(string)"/>.
/// Text fields are trimmed; an empty cell becomes <see langword="null"/>.
/// </summary>
/// <remarks>
/// Exactly one of <see cref="ResolvedPath"/> and <see cref="Url"/> is set for a usable row; both are null when
/// <see cref="Rejection"/> says why the image cannot be used. A row without a mall (<see cref="HasMall"/> false) is
/// training / evaluation data only and must not be recommended.
/// </remarks>
public sealed record CatalogRow
{
    /// <summary>Record number in the file counting the header as 1, so it matches the row a spreadsheet shows.</summary>
    public required int RowNumber { get; init; }

    /// <summary>The <c>image</c> cell as written (relative path, absolute path or URL). This is what replies show.</summary>
    public required string Image { get; init; }

    /// <summary>Absolute, normalised local path of the image; null for remote or rejected rows.</summary>
    public string? ResolvedPath { get; init; }

    /// <summary>http(s) address of the image; null for local or rejected rows.</summary>
    public Uri? Url { get; init; }

    public string? Mall { get; init; }
    public string? Style { get; init; }
    public string? Substyle { get; init; }
    public string? Title { get; init; }

    /// <summary>Product page (<c>url</c> column); only absolute http(s) addresses are kept, see <see cref="Warnings"/>.</summary>
    public string? ProductUrl { get; init; }

    /// <summary>Price as written (currency and formatting vary between malls, so it is not parsed).</summary>
    public string? Price { get; init; }

    /// <summary>Mall home page (<c>mall_url</c> column); only absolute http(s) addresses are kept.</summary>
    public string? MallUrl { get; init; }

    /// <summary>Product identifier (K-Fashion: mall + product number); rows of one product share it.</summary>
    public string? Product { get; init; }

    /// <summary>Garment categories (<c>|</c>-separated in the file, e.g. 상의|하의); empty when unknown.</summary>
    public string[] Garments { get; init; } = [];

    /// <summary>Why the row's image cannot be used (empty cell, unsupported URL scheme, …); null when usable.</summary>
    public string? Rejection { get; init; }

    /// <summary>Non-fatal problems, e.g. a product link that is not http(s) and was dropped.</summary>
    public string[] Warnings { get; init; } = [];

    /// <summary>True when the image can be fetched (<see cref="Rejection"/> is null).</summary>
    public bool IsUsable => Rejection is null;

    /// <summary>True when the row belongs to a mall and may therefore be recommended.</summary>
    public bool HasMall => Mall is not null;

    /// <summary>True when the image is an http(s) URL rather than a local file.</summary>
    public bool IsRemote => Url is not null;
}
