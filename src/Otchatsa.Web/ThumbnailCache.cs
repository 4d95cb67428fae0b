using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;
using Otchatsa.Catalog;
using Otchatsa.Imaging;

using SkiaSharp;

namespace Otchatsa.Web;

/// <summary>A catalog thumbnail ready to serve: JPEG bytes and a strong ETag derived from them.</summary>
public sealed record Thumbnail(byte[] Jpeg, string ETag);

/// <summary>
/// Catalog thumbnails for <c>/thumbs/{id}</c>, read from the index's SQLite store, bounded to
/// <see cref="MaxSide"/> pixels and kept in a size-limited memory cache (the nine of a result are asked for together,
/// and chat replies may link the same ones).
/// </summary>
public sealed class ThumbnailCache : IDisposable
{
    /// <summary>Longest side served; the index builder stores 256 px, so this only trims thumbnails from bigger builds.</summary>
    public const int MaxSide = 256;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 32L * 1024 * 1024 });

    /// <summary>The thumbnail of catalog item <paramref name="key"/>, or null when the index has none.</summary>
    public Thumbnail? Get(CatalogIndex index, ulong key)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (_cache.TryGetValue(key, out Thumbnail? cached))
        {
            return cached;
        }
        var stored = index.Thumbnail(key);
        if (stored is null || stored.Length == 0)
        {
            return null;
        }
        var jpeg = Bound(stored);
        var thumbnail = new Thumbnail(jpeg, $"\"{Convert.ToHexString(SHA256.HashData(jpeg).AsSpan(0, 12)).ToLowerInvariant()}\"");
        _cache.Set(key, thumbnail, new MemoryCacheEntryOptions { Size = jpeg.Length, SlidingExpiration = TimeSpan.FromHours(1) });
        return thumbnail;
    }

    public void Dispose() => _cache.Dispose();

    private static byte[] Bound(byte[] jpeg)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(jpeg));
        if (codec is null || Math.Max(codec.Info.Width, codec.Info.Height) <= MaxSide)
        {
            return jpeg;
        }
        using var bitmap = SKBitmap.Decode(jpeg);
        return bitmap is null ? jpeg : Thumbnails.Jpeg(bitmap, MaxSide);
    }
}
