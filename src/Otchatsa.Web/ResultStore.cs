using System.Security.Cryptography;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Otchatsa.Recommending;

namespace Otchatsa.Web;

/// <summary>What the result page shows for one upload. Holds no path and no original bytes: only the re-encoded photo.</summary>
/// <param name="DisplayJpeg">The photo as the server re-encoded it (upright, at most <see cref="PhotoAnalyzer.DisplaySide"/> px).</param>
/// <param name="Width">Original (EXIF-oriented) width: the space of <paramref name="Box"/>.</param>
/// <param name="Height">Original (EXIF-oriented) height.</param>
/// <param name="PersonFound">False when no person was found and the whole photo was used.</param>
/// <param name="Box">Person box <c>[x, y, w, h]</c> in original pixels.</param>
/// <param name="Recommendation">Style, runner-ups, malls and items.</param>
public sealed record ResultView(
    byte[] DisplayJpeg,
    int Width,
    int Height,
    bool PersonFound,
    int[] Box,
    Recommendation Recommendation);

/// <summary>
/// Results kept in memory under unguessable ids, so the result page can be reloaded or switched to another language
/// without uploading again. Entries expire; nothing is ever written to disk.
/// </summary>
public sealed class ResultStore : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly TimeSpan _lifetime;

    public ResultStore(IOptions<WebOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.Value.ResultCacheBytes });
        _lifetime = options.Value.ResultLifetime;
    }

    /// <summary>Keeps <paramref name="view"/> and returns its id (128 random bits, URL-safe).</summary>
    public string Add(ResultView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var id = Base64Url(RandomNumberGenerator.GetBytes(16));
        _cache.Set(id, view, new MemoryCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = _lifetime,
            // The photo dominates; the recommendation itself references shared catalog objects.
            Size = view.DisplayJpeg.Length + 4096,
        });
        return id;
    }

    public ResultView? Get(string id) => IsWellFormed(id) && _cache.TryGetValue(id, out ResultView? view) ? view : null;

    public void Dispose() => _cache.Dispose();

    /// <summary>Ids are exactly 22 URL-safe base64 characters; anything else is refused before a lookup.</summary>
    public static bool IsWellFormed(string? id) =>
        id is { Length: 22 } && id.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
