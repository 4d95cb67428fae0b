using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Otchatsa.Catalog;

/// <summary>
/// The catalog half of a built index: a single SQLite file (<see cref="FileName"/>) with the items (whose row id is
/// the vector key), their thumbnails, the malls' style profiles and free-form metadata.
/// </summary>
/// <remarks>
/// <para>One connection guarded by a lock: every public member is thread-safe, and the bot's concurrent readers
/// only ever run short indexed look-ups, so contention is negligible. The journal is the classic rollback journal
/// (no WAL), so a closed catalog is exactly one file that can be copied or swapped with its directory.</para>
/// <para>For bulk inserts wrap the calls in <see cref="BeginBatch"/>: one transaction instead of one per row.</para>
/// </remarks>
public sealed class CatalogStore : IDisposable
{
    /// <summary>The catalog's file name inside an index directory.</summary>
    public const string FileName = "catalog.sqlite";

    private const int SchemaVersion = 1;

    private const string ItemColumns =
        "id, image, mall, style, substyle, title, url, price, mall_url, product, garments, width, height, predicted_style";

    private readonly SqliteConnection _connection;
    private readonly Lock _lock = new();
    private SqliteTransaction? _transaction;
    private bool _disposed;

    private CatalogStore(SqliteConnection connection, string path, bool readOnly)
    {
        _connection = connection;
        Path = path;
        IsReadOnly = readOnly;
    }

    /// <summary>Full path of the SQLite file.</summary>
    public string Path { get; }

    public bool IsReadOnly { get; }

    /// <summary>Creates a new, empty catalog file. Refuses to overwrite: build into a fresh directory (see <see cref="AtomicDirectory"/>).</summary>
    /// <exception cref="IOException">The file already exists.</exception>
    public static CatalogStore Create(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
            throw new IOException($"catalog already exists: {full}");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);

        var connection = OpenConnection(full, SqliteOpenMode.ReadWriteCreate);
        try
        {
            Execute(connection, """
                PRAGMA journal_mode = DELETE;
                CREATE TABLE items (
                    id INTEGER PRIMARY KEY,
                    image TEXT NOT NULL,
                    mall TEXT,
                    style TEXT,
                    substyle TEXT,
                    title TEXT,
                    url TEXT,
                    price TEXT,
                    mall_url TEXT,
                    product TEXT,
                    garments TEXT NOT NULL DEFAULT '',
                    width INTEGER,
                    height INTEGER,
                    predicted_style TEXT,
                    thumb BLOB
                );
                CREATE INDEX items_mall ON items (mall);
                CREATE TABLE malls (
                    name TEXT PRIMARY KEY,
                    url TEXT,
                    item_count INTEGER NOT NULL,
                    style_profile TEXT NOT NULL
                );
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                );
                """);
            var store = new CatalogStore(connection, full, readOnly: false);
            store.SetMeta("schema_version", SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return store;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing catalog; read-only by default (the bot and the recommender never write).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a catalog of a schema this build understands.</exception>
    public static CatalogStore Open(string path, bool readOnly = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"catalog not found: {full}", full);

        var connection = OpenConnection(full, readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite);
        var store = new CatalogStore(connection, full, readOnly);
        try
        {
            string? version;
            try
            {
                version = store.GetMeta("schema_version");
            }
            catch (SqliteException ex)
            {
                throw new InvalidDataException($"{full} is not an Otchatsa catalog ({ex.Message})", ex);
            }
            if (version != SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new InvalidDataException(
                    $"{full} has catalog schema {version ?? "(none)"}, this build reads schema {SchemaVersion}: rebuild with `otchatsa index build`");
            }
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a transaction that every write on this store joins until the batch is committed or disposed
    /// (disposing without <see cref="CatalogWriteBatch.Commit"/> rolls back). One batch at a time.
    /// </summary>
    public CatalogWriteBatch BeginBatch()
    {
        lock (_lock)
        {
            ThrowIfUnwritable();
            if (_transaction is not null)
                throw new InvalidOperationException("a write batch is already open on this catalog");
            _transaction = _connection.BeginTransaction();
            return new CatalogWriteBatch(this);
        }
    }

    /// <summary>Inserts an item and returns its id (= its vector key). <paramref name="item"/>.Id 0 lets the store assign one.</summary>
    /// <param name="item">The item; its <see cref="CatalogItem.Id"/>, if not 0, is used as the row id.</param>
    /// <param name="thumbnailJpeg">A small JPEG (long side ≤ 256) for replies and collages, or null.</param>
    public long AddItem(CatalogItem item, byte[]? thumbnailJpeg = null)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentOutOfRangeException.ThrowIfNegative(item.Id);
        lock (_lock)
        {
            ThrowIfUnwritable();
            using var cmd = Command($"""
                INSERT INTO items ({ItemColumns}, thumb)
                VALUES (@id, @image, @mall, @style, @substyle, @title, @url, @price, @mall_url, @product, @garments,
                        @width, @height, @predicted_style, @thumb)
                RETURNING id
                """);
            cmd.Parameters.AddWithValue("@id", item.Id == 0 ? DBNull.Value : item.Id);
            cmd.Parameters.AddWithValue("@image", item.Image);
            cmd.Parameters.AddWithValue("@mall", Db(item.Mall));
            cmd.Parameters.AddWithValue("@style", Db(item.Style));
            cmd.Parameters.AddWithValue("@substyle", Db(item.Substyle));
            cmd.Parameters.AddWithValue("@title", Db(item.Title));
            cmd.Parameters.AddWithValue("@url", Db(item.Url));
            cmd.Parameters.AddWithValue("@price", Db(item.Price));
            cmd.Parameters.AddWithValue("@mall_url", Db(item.MallUrl));
            cmd.Parameters.AddWithValue("@product", Db(item.Product));
            cmd.Parameters.AddWithValue("@garments", string.Join('|', item.Garments));
            cmd.Parameters.AddWithValue("@width", item.Width is { } w ? w : DBNull.Value);
            cmd.Parameters.AddWithValue("@height", item.Height is { } h ? h : DBNull.Value);
            cmd.Parameters.AddWithValue("@predicted_style", Db(item.PredictedStyle));
            cmd.Parameters.Add("@thumb", SqliteType.Blob).Value = thumbnailJpeg is null ? DBNull.Value : thumbnailJpeg;
            return (long)cmd.ExecuteScalar()!;
        }
    }

    /// <summary>Records the style head's prediction for an item (after the fact, e.g. once the head is trained).</summary>
    public void SetPredictedStyle(long id, string? style)
    {
        lock (_lock)
        {
            ThrowIfUnwritable();
            using var cmd = Command("UPDATE items SET predicted_style = @style WHERE id = @id");
            cmd.Parameters.AddWithValue("@style", Db(style));
            cmd.Parameters.AddWithValue("@id", id);
            if (cmd.ExecuteNonQuery() == 0)
                throw new KeyNotFoundException($"no catalog item {id}");
        }
    }

    /// <summary>Replaces the thumbnail of an item.</summary>
    public void SetThumbnail(long id, byte[]? thumbnailJpeg)
    {
        lock (_lock)
        {
            ThrowIfUnwritable();
            using var cmd = Command("UPDATE items SET thumb = @thumb WHERE id = @id");
            cmd.Parameters.Add("@thumb", SqliteType.Blob).Value = thumbnailJpeg is null ? DBNull.Value : thumbnailJpeg;
            cmd.Parameters.AddWithValue("@id", id);
            if (cmd.ExecuteNonQuery() == 0)
                throw new KeyNotFoundException($"no catalog item {id}");
        }
    }

    /// <summary>Inserts or replaces a mall's row.</summary>
    public void SetMallProfile(MallRecord mall)
    {
        ArgumentNullException.ThrowIfNull(mall);
        ArgumentException.ThrowIfNullOrEmpty(mall.Name);
        lock (_lock)
        {
            ThrowIfUnwritable();
            using var cmd = Command("""
                INSERT INTO malls (name, url, item_count, style_profile) VALUES (@name, @url, @count, @profile)
                ON CONFLICT (name) DO UPDATE SET url = excluded.url, item_count = excluded.item_count,
                                                 style_profile = excluded.style_profile
                """);
            cmd.Parameters.AddWithValue("@name", mall.Name);
            cmd.Parameters.AddWithValue("@url", Db(mall.Url));
            cmd.Parameters.AddWithValue("@count", mall.ItemCount);
            cmd.Parameters.AddWithValue("@profile", JsonSerializer.Serialize(mall.StyleShares));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Sets a metadata value (e.g. the builder's model ids); <c>schema_version</c> is reserved.</summary>
    public void SetMeta(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        lock (_lock)
        {
            ThrowIfUnwritable();
            using var cmd = Command("INSERT INTO meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
            cmd.Parameters.AddWithValue("@key", key);
            cmd.Parameters.AddWithValue("@value", value);
            cmd.ExecuteNonQuery();
        }
    }

    public string? GetMeta(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command("SELECT value FROM meta WHERE key = @key");
            cmd.Parameters.AddWithValue("@key", key);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>Number of items.</summary>
    public int ItemCount
    {
        get
        {
            lock (_lock)
            {
                ThrowIfDisposed();
                using var cmd = Command("SELECT COUNT(*) FROM items");
                return checked((int)(long)cmd.ExecuteScalar()!);
            }
        }
    }

    public CatalogItem? GetItem(long id)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command($"SELECT {ItemColumns} FROM items WHERE id = @id");
            cmd.Parameters.AddWithValue("@id", id);
            return ReadItems(cmd).FirstOrDefault();
        }
    }

    /// <summary>Items with the given ids, in the order asked; unknown ids are left out.</summary>
    public IReadOnlyList<CatalogItem> GetItems(IEnumerable<long> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var wanted = ids.ToArray();
        if (wanted.Length == 0)
            return [];
        lock (_lock)
        {
            ThrowIfDisposed();
            // One JSON array parameter instead of building an IN (...) list: stays parameterised at any length.
            using var cmd = Command($"SELECT {ItemColumns} FROM items WHERE id IN (SELECT value FROM json_each(@ids))");
            cmd.Parameters.AddWithValue("@ids", JsonSerializer.Serialize(wanted));
            var byId = ReadItems(cmd).ToDictionary(i => i.Id);
            return [.. wanted.Where(byId.ContainsKey).Select(id => byId[id])];
        }
    }

    /// <summary>Every item, in id order (no thumbnails).</summary>
    public IReadOnlyList<CatalogItem> AllItems()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command($"SELECT {ItemColumns} FROM items ORDER BY id");
            return ReadItems(cmd);
        }
    }

    /// <summary>The items of one mall (exact, case-sensitive name), in id order.</summary>
    public IReadOnlyList<CatalogItem> ItemsOfMall(string mall)
    {
        ArgumentNullException.ThrowIfNull(mall);
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command($"SELECT {ItemColumns} FROM items WHERE mall = @mall ORDER BY id");
            cmd.Parameters.AddWithValue("@mall", mall);
            return ReadItems(cmd);
        }
    }

    /// <summary>All malls with their profiles, by name.</summary>
    public IReadOnlyList<MallRecord> Malls()
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command("SELECT name, url, item_count, style_profile FROM malls ORDER BY name");
            return ReadMalls(cmd);
        }
    }

    public MallRecord? GetMall(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command("SELECT name, url, item_count, style_profile FROM malls WHERE name = @name");
            cmd.Parameters.AddWithValue("@name", name);
            return ReadMalls(cmd).FirstOrDefault();
        }
    }

    /// <summary>The item's JPEG thumbnail, or null when the item or its thumbnail does not exist.</summary>
    public byte[]? GetThumbnail(long id)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            using var cmd = Command("SELECT thumb FROM items WHERE id = @id");
            cmd.Parameters.AddWithValue("@id", id);
            return cmd.ExecuteScalar() as byte[];
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            _transaction?.Dispose();
            _transaction = null;
            _connection.Dispose();
        }
    }

    internal void EndBatch(bool commit)
    {
        lock (_lock)
        {
            if (_transaction is null)
                return;
            if (commit)
                _transaction.Commit();
            else if (!_disposed)
                _transaction.Rollback();
            _transaction.Dispose();
            _transaction = null;
        }
    }

    private static SqliteConnection OpenConnection(string path, SqliteOpenMode mode)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            Cache = SqliteCacheMode.Private,
            // A pooled connection would keep the file open after Dispose and block deleting or swapping the index directory.
            Pooling = false,
        }.ToString();
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _transaction;
        return cmd;
    }

    private static object Db(string? value) => value is null ? DBNull.Value : value;

    private static List<CatalogItem> ReadItems(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var items = new List<CatalogItem>();
        while (r.Read())
        {
            string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            int? I(int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
            items.Add(new CatalogItem
            {
                Id = r.GetInt64(0),
                Image = r.GetString(1),
                Mall = S(2),
                Style = S(3),
                Substyle = S(4),
                Title = S(5),
                Url = S(6),
                Price = S(7),
                MallUrl = S(8),
                Product = S(9),
                Garments = (S(10) ?? "").Split('|', StringSplitOptions.RemoveEmptyEntries),
                Width = I(11),
                Height = I(12),
                PredictedStyle = S(13),
            });
        }
        return items;
    }

    private static List<MallRecord> ReadMalls(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var malls = new List<MallRecord>();
        while (r.Read())
        {
            var shares = JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(3)) ?? [];
            malls.Add(new MallRecord(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt32(2), shares));
        }
        return malls;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfUnwritable()
    {
        ThrowIfDisposed();
        if (IsReadOnly)
            throw new InvalidOperationException($"catalog {Path} is open read-only");
    }
}

/// <summary>A transaction on a <see cref="CatalogStore"/> (see <see cref="CatalogStore.BeginBatch"/>).</summary>
public sealed class CatalogWriteBatch : IDisposable
{
    private CatalogStore? _store;

    internal CatalogWriteBatch(CatalogStore store) => _store = store;

    /// <summary>Makes the batch's writes permanent.</summary>
    public void Commit()
    {
        var store = _store ?? throw new InvalidOperationException("batch already completed");
        _store = null;
        store.EndBatch(commit: true);
    }

    /// <summary>Rolls back unless <see cref="Commit"/> was called.</summary>
    public void Dispose()
    {
        var store = _store;
        _store = null;
        store?.EndBatch(commit: false);
    }
}
