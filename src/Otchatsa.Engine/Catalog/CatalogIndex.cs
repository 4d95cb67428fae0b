using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Catalog;


/// <summary>
/// A built index opened for queries: catalog rows from SQLite, vectors in USearch (HNSW, cosine), and the mall style
/// profiles, all held in memory. Also constructible in memory from analysed items, which evaluation folds use.
/// </summary>
public sealed class CatalogIndex : ICatalogView, IDisposable
{
    private readonly VectorIndex _vectors;
    private readonly CatalogStore? _store;
    private readonly Dictionary<ulong, CatalogEntry> _byKey;
    private readonly Dictionary<string, CatalogEntry[]> _byMall;

    private CatalogIndex(VectorIndex vectors, CatalogStore? store, IReadOnlyList<CatalogItem> items, IndexManifest? manifest)
    {
        _vectors = vectors;
        _store = store;
        Manifest = manifest;
        Items = items.Select(ToEntry).ToArray();
        _byKey = Items.ToDictionary(i => i.Key);
        _byMall = Items.Where(i => i.Mall.Length > 0)
            .GroupBy(i => i.Mall, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        var mallUrls = items.Where(i => !string.IsNullOrEmpty(i.Mall) && !string.IsNullOrEmpty(i.MallUrl))
            .GroupBy(i => i.Mall!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().MallUrl, StringComparer.Ordinal);
        Malls = _byMall.ToDictionary(
            kv => kv.Key,
            kv => new MallProfile(
                kv.Key,
                mallUrls.GetValueOrDefault(kv.Key),
                kv.Value.Length,
                kv.Value.Where(i => i.Style is not null).GroupBy(i => i.Style!.Id).ToDictionary(g => g.Key, g => g.Count())),
            StringComparer.Ordinal);
    }

    public IndexManifest? Manifest { get; }

    /// <summary>The SQLite catalog behind an index opened from disk (thumbnails live there); null in memory.</summary>
    public CatalogStore? Store => _store;

    public int Dimensions => _vectors.Dimensions;

    public IReadOnlyList<CatalogEntry> Items { get; }

    public IReadOnlyDictionary<string, MallProfile> Malls { get; }

    /// <summary>
    /// Opens <paramref name="directory"/> (after repairing an interrupted swap, <see cref="AtomicDirectory.Recover"/>);
    /// refuses an index built with other models or another view, and one that holds no photos.
    /// </summary>
    public static CatalogIndex Open(string directory, IndexManifest expected)
    {
        AtomicDirectory.Recover(directory);
        if (!Directory.Exists(directory))
        {
            throw new IndexIncompatibleException(
                $"No index at '{directory}'. Build one with 'otchatsa index build'.", ["missing"]);
        }
        var manifest = IndexManifest.Load(directory);
        manifest.EnsureCompatible(expected);
        CatalogStore? store = null;
        try
        {
            store = CatalogStore.Open(Path.Combine(directory, CatalogStore.FileName), readOnly: true);
            var items = store.AllItems();
            if (items.Count == 0)
            {
                throw new IndexIncompatibleException(
                    $"The index at '{directory}' holds no photos. Rebuild it with 'otchatsa index build' from a catalog whose photos can be read.",
                    ["no photos"]);
            }
            var vectors = VectorIndex.Load(directory);
            return new CatalogIndex(vectors, store, items, manifest);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or VectorIndexException
                                       or Microsoft.Data.Sqlite.SqliteException or KeyNotFoundException)
        {
            store?.Dispose();
            throw new IndexIncompatibleException(
                $"The index at '{directory}' is damaged ({ex.Message.ReplaceLineEndings(" ")}). Rebuild it with 'otchatsa index build'.",
                ["damaged"], ex);
        }
        catch
        {
            store?.Dispose();
            throw;
        }
    }

    /// <summary>An in-memory index over items whose vectors are already known (ids must be set and unique).</summary>
    public static CatalogIndex InMemory(IReadOnlyList<(CatalogItem Item, float[] Vector)> items, int dimensions)
    {
        var vectors = new VectorIndex(dimensions);
        foreach (var (item, vector) in items)
        {
            vectors.Add(item.VectorKey, vector);
        }
        return new CatalogIndex(vectors, null, items.Select(i => i.Item).ToArray(), null);
    }

    public CatalogEntry Item(ulong key) => _byKey[key];

    public IReadOnlyList<CatalogEntry> ItemsOf(string mall) => _byMall.TryGetValue(mall, out var items) ? items : [];

    public ReadOnlySpan<float> VectorOf(ulong key) => _vectors.GetVector(key);

    public IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count)
    {
        var matches = _vectors.Search(query, Math.Min(count, Items.Count));
        var neighbors = new Neighbor[matches.Count];
        for (var i = 0; i < matches.Count; i++)
        {
            neighbors[i] = new Neighbor(matches[i].Key, matches[i].Similarity);
        }
        return neighbors;
    }

    public byte[]? Thumbnail(ulong key) => _store?.GetThumbnail((long)key);

    public void Dispose()
    {
        _vectors.Dispose();
        _store?.Dispose();
    }

    private static CatalogEntry ToEntry(CatalogItem item)
    {
        var labelled = StyleTaxonomy.Resolve(item.Style);
        var style = labelled ?? StyleTaxonomy.Resolve(item.PredictedStyle);
        return new CatalogEntry(
            item.VectorKey,
            item.Image,
            item.Mall ?? "",
            style,
            labelled is not null,
            item.Title,
            item.Url,
            item.Price,
            item.Garments,
            item.Product);
    }
}
