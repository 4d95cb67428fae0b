using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace Otchatsa.Catalog;

/// <summary>HNSW build / search parameters. Larger values: better recall, slower build and search.</summary>
public sealed record VectorIndexOptions
{
    public static VectorIndexOptions Default { get; } = new();

    /// <summary>Graph edges per node (USearch's M).</summary>
    public int Connectivity { get; init; } = 16;

    /// <summary>Candidate list size while inserting (efConstruction).</summary>
    public int ExpansionAdd { get; init; } = 128;

    /// <summary>Candidate list size while searching (ef). Not stored in the saved file: <see cref="VectorIndex.Load"/> takes it again.</summary>
    public int ExpansionSearch { get; init; } = 64;
}

/// <summary>A search hit: the item's key and its cosine similarity to the query (1 = same direction).</summary>
public readonly record struct VectorMatch(ulong Key, float Similarity);

/// <summary>
/// Cosine-similarity vector index: a USearch HNSW graph for approximate nearest neighbours over the whole catalog,
/// plus an exact, in-memory copy of every vector for ranking inside a subset (e.g. the items of one mall).
/// </summary>
/// <remarks>
/// <para>Vectors are L2-normalised on <see cref="Add"/> (a zero or non-finite vector is refused), so similarity is a
/// dot product and both search paths report the same number for the same item. Similarities of
/// <see cref="Search"/> are recomputed exactly from the stored copy rather than taken from the graph's float distances.</para>
/// <para>Saved as two files in a directory: <see cref="GraphFileName"/> (USearch's own format) and
/// <see cref="VectorsFileName"/> (magic <c>OTVF</c>, u32 version 1, u32 dims, u64 count, count × u64 keys,
/// count × dims float32; all little-endian). Catalogs here are thousands × 512 floats (a few MB), so the copy is cheap.</para>
/// <para>Thread-safe. <see cref="Add"/> excludes everything else (USearch inserts are not safe alongside other calls);
/// exact searches run in parallel; HNSW searches are serialised, because USearch sizes its per-thread search contexts
/// by core count and a catalog-sized search takes microseconds anyway.</para>
/// </remarks>
public sealed class VectorIndex : IDisposable
{
    /// <summary>USearch graph file inside an index directory.</summary>
    public const string GraphFileName = "vectors.usearch";

    /// <summary>Exact vector copy inside an index directory.</summary>
    public const string VectorsFileName = "vectors.f32";

    private const uint Magic = 0x4656544F; // "OTVF" read as little-endian u32
    private const uint FormatVersion = 1;
    private const int HeaderSize = 4 + 4 + 4 + 8;

    private readonly USearchIndex _graph;
    private readonly bool _readOnlyView;
    private readonly ReaderWriterLockSlim _stateLock = new(LockRecursionPolicy.NoRecursion);
    private readonly Lock _nativeLock = new();
    private readonly Dictionary<ulong, int> _slots = [];
    private ulong[] _keys;
    private float[] _vectors;
    private int _count;
    private bool _disposed;

    /// <summary>Creates an empty index for vectors of <paramref name="dimensions"/> floats.</summary>
    public VectorIndex(int dimensions, VectorIndexOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimensions);
        options ??= VectorIndexOptions.Default;
        Dimensions = dimensions;
        _keys = new ulong[16];
        _vectors = new float[16 * dimensions];
        _graph = Native(() => new USearchIndex(MetricKind.Cos, ScalarKind.Float32, (ulong)dimensions,
            (ulong)options.Connectivity, (ulong)options.ExpansionAdd, (ulong)options.ExpansionSearch, multi: false), "create");
    }

    private VectorIndex(USearchIndex graph, int dimensions, ulong[] keys, float[] vectors, bool view)
    {
        _graph = graph;
        Dimensions = dimensions;
        _keys = keys;
        _vectors = vectors;
        _count = keys.Length;
        _readOnlyView = view;
        for (var i = 0; i < keys.Length; i++)
        {
            if (!_slots.TryAdd(keys[i], i))
                throw new VectorIndexException($"duplicate key {keys[i]} in {VectorsFileName}");
        }
    }

    public int Dimensions { get; }

    /// <summary>Number of vectors.</summary>
    public int Count
    {
        get
        {
            _stateLock.EnterReadLock();
            try { return _count; }
            finally { _stateLock.ExitReadLock(); }
        }
    }

    /// <summary>A snapshot of all keys, in insertion order.</summary>
    public IReadOnlyList<ulong> Keys
    {
        get
        {
            _stateLock.EnterReadLock();
            try { return _keys.AsSpan(0, _count).ToArray(); }
            finally { _stateLock.ExitReadLock(); }
        }
    }

    public bool Contains(ulong key)
    {
        _stateLock.EnterReadLock();
        try { return _slots.ContainsKey(key); }
        finally { _stateLock.ExitReadLock(); }
    }

    /// <summary>Adds a vector under <paramref name="key"/> (a <see cref="CatalogItem.VectorKey"/>). It is stored L2-normalised.</summary>
    /// <exception cref="ArgumentException">Wrong length, zero or non-finite vector, or a key already present.</exception>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        var normalised = Normalise(vector, nameof(vector));
        _stateLock.EnterWriteLock();
        try
        {
            ThrowIfDisposed();
            if (_readOnlyView)
                throw new InvalidOperationException("this index is a read-only memory-mapped view; load it with view: false to add vectors");
            if (_slots.ContainsKey(key))
                throw new ArgumentException($"key {key} is already in the index", nameof(key));

            lock (_nativeLock)
                Native(() => _graph.Add(key, normalised), "add");

            if (_count == _keys.Length)
            {
                Array.Resize(ref _keys, _keys.Length * 2);
                Array.Resize(ref _vectors, _keys.Length * Dimensions);
            }
            _keys[_count] = key;
            normalised.CopyTo(_vectors.AsSpan(_count * Dimensions, Dimensions));
            _slots.Add(key, _count);
            _count++;
        }
        finally
        {
            _stateLock.ExitWriteLock();
        }
    }

    /// <summary>Approximate (HNSW) top-<paramref name="k"/> over the whole index, most similar first. Fewer when the index is smaller.</summary>
    public IReadOnlyList<VectorMatch> Search(ReadOnlySpan<float> query, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var q = Normalise(query, nameof(query));
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            if (_count == 0)
                return [];
            ulong[] keys = [];
            int found;
            lock (_nativeLock)
                found = Native(() => _graph.Search(q, Math.Min(k, _count), out keys, out _), "search");

            var matches = new List<VectorMatch>(found);
            for (var i = 0; i < found; i++)
            {
                if (_slots.TryGetValue(keys[i], out var slot))
                    matches.Add(new VectorMatch(keys[i], Dot(q, VectorAt(slot))));
            }
            matches.Sort(ByDescendingSimilarity);
            return matches;
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>Exact top-<paramref name="k"/> over the whole index (brute force; for evaluation and small catalogs).</summary>
    public IReadOnlyList<VectorMatch> SearchExact(ReadOnlySpan<float> query, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var q = Normalise(query, nameof(query));
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            var all = new List<VectorMatch>(_count);
            for (var slot = 0; slot < _count; slot++)
                all.Add(new VectorMatch(_keys[slot], Dot(q, VectorAt(slot))));
            return TopK(all, k);
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>
    /// Exact top-<paramref name="k"/> among <paramref name="keys"/> only (e.g. the items of one mall), most similar
    /// first. Keys not in the index are ignored; duplicates count once.
    /// </summary>
    public IReadOnlyList<VectorMatch> SearchWithin(ReadOnlySpan<float> query, IEnumerable<ulong> keys, int k)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        var q = Normalise(query, nameof(query));
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            var seen = new HashSet<ulong>();
            var scored = new List<VectorMatch>();
            foreach (var key in keys)
            {
                if (seen.Add(key) && _slots.TryGetValue(key, out var slot))
                    scored.Add(new VectorMatch(key, Dot(q, VectorAt(slot))));
            }
            return TopK(scored, k);
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>A copy of the stored (L2-normalised) vector of <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public float[] GetVector(ulong key)
    {
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            return _slots.TryGetValue(key, out var slot)
                ? VectorAt(slot).ToArray()
                : throw new KeyNotFoundException($"key {key} is not in the index");
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>Cosine similarity of two stored vectors.</summary>
    public float Similarity(ulong a, ulong b)
    {
        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            if (!_slots.TryGetValue(a, out var sa))
                throw new KeyNotFoundException($"key {a} is not in the index");
            if (!_slots.TryGetValue(b, out var sb))
                throw new KeyNotFoundException($"key {b} is not in the index");
            return Dot(VectorAt(sa), VectorAt(sb));
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>Writes <see cref="GraphFileName"/> and <see cref="VectorsFileName"/> into <paramref name="directory"/> (created if needed).</summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        EnsureLittleEndian();
        Directory.CreateDirectory(directory);
        var graphPath = Path.Combine(directory, GraphFileName);
        var vectorsPath = Path.Combine(directory, VectorsFileName);

        _stateLock.EnterReadLock();
        try
        {
            ThrowIfDisposed();
            lock (_nativeLock)
                Native(() => _graph.Save(graphPath), $"save {graphPath}");

            using var file = new FileStream(vectorsPath, FileMode.Create, FileAccess.Write, FileShare.None);
            Span<byte> header = stackalloc byte[HeaderSize];
            BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)Dimensions);
            BinaryPrimitives.WriteUInt64LittleEndian(header[12..], (ulong)_count);
            file.Write(header);
            file.Write(MemoryMarshal.AsBytes(_keys.AsSpan(0, _count)));
            file.Write(MemoryMarshal.AsBytes(_vectors.AsSpan(0, _count * Dimensions)));
        }
        finally
        {
            _stateLock.ExitReadLock();
        }
    }

    /// <summary>
    /// Loads an index saved by <see cref="Save"/>. With <paramref name="view"/> the HNSW graph is memory-mapped instead
    /// of copied (less memory, read-only, and the file must stay in place while the index is open).
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="VectorIndexException">The files are corrupt or do not agree with each other.</exception>
    public static VectorIndex Load(string directory, bool view = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        EnsureLittleEndian();
        var graphPath = Path.Combine(directory, GraphFileName);
        var vectorsPath = Path.Combine(directory, VectorsFileName);
        foreach (var p in new[] { graphPath, vectorsPath })
        {
            if (!File.Exists(p))
                throw new FileNotFoundException($"vector index file missing: {p}", p);
        }

        var (dims, keys, vectors) = ReadVectors(vectorsPath);
        var graph = Native(() => new USearchIndex(graphPath, view), $"load {graphPath}");
        try
        {
            var graphDims = (int)graph.Dimensions();
            var graphSize = (long)graph.Size();
            if (graphDims != dims || graphSize != keys.Length)
            {
                throw new VectorIndexException(
                    $"{GraphFileName} ({graphSize} × {graphDims}) does not match {VectorsFileName} ({keys.Length} × {dims}) in {directory}");
            }
            return new VectorIndex(graph, dims, keys, vectors, view);
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _stateLock.EnterWriteLock();
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            lock (_nativeLock)
                _graph.Dispose();
        }
        finally
        {
            _stateLock.ExitWriteLock();
        }
        // Not disposing _stateLock: a caller racing Dispose would hit ObjectDisposedException from the lock itself
        // instead of the clear one from ThrowIfDisposed.
    }

    private static (int Dims, ulong[] Keys, float[] Vectors) ReadVectors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < HeaderSize || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
            throw new VectorIndexException($"{path} is not an Otchatsa vector file");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4));
        if (version != FormatVersion)
            throw new VectorIndexException($"{path} has vector format {version}, this build reads {FormatVersion}: rebuild the index");
        var dims = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        var count = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(12));
        var expected = HeaderSize + (decimal)count * 8 + (decimal)count * dims * 4;
        if (dims == 0 || dims > 65_536 || expected != bytes.Length)
            throw new VectorIndexException($"{path} is truncated or corrupt ({bytes.Length} bytes for {count} × {dims})");

        var n = (int)count;
        var keys = MemoryMarshal.Cast<byte, ulong>(bytes.AsSpan(HeaderSize, n * 8)).ToArray();
        var vectors = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(HeaderSize + n * 8)).ToArray();
        return ((int)dims, keys, vectors);
    }

    private float[] Normalise(ReadOnlySpan<float> vector, string paramName)
    {
        if (vector.Length != Dimensions)
            throw new ArgumentException($"expected {Dimensions} dimensions, got {vector.Length}", paramName);
        double sum = 0;
        foreach (var x in vector)
        {
            if (!float.IsFinite(x))
                throw new ArgumentException("vector contains NaN or infinity", paramName);
            sum += (double)x * x;
        }
        if (sum == 0)
            throw new ArgumentException("zero vector has no direction", paramName);
        var scale = (float)(1 / Math.Sqrt(sum));
        var result = new float[vector.Length];
        for (var i = 0; i < result.Length; i++)
            result[i] = vector[i] * scale;
        return result;
    }

    private ReadOnlySpan<float> VectorAt(int slot) => _vectors.AsSpan(slot * Dimensions, Dimensions);

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        for (; i < va.Length; i++)
            acc += va[i] * vb[i];
        var sum = Vector.Sum(acc);
        for (i *= Vector<float>.Count; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }

    private static List<VectorMatch> TopK(List<VectorMatch> scored, int k)
    {
        scored.Sort(ByDescendingSimilarity);
        if (scored.Count > k)
            scored.RemoveRange(k, scored.Count - k);
        return scored;
    }

    // Ties broken by key so results are reproducible run to run.
    private static int ByDescendingSimilarity(VectorMatch x, VectorMatch y)
    {
        var c = y.Similarity.CompareTo(x.Similarity);
        return c != 0 ? c : x.Key.CompareTo(y.Key);
    }

    private static T Native<T>(Func<T> call, string what)
    {
        try
        {
            return call();
        }
        catch (USearchException ex)
        {
            throw new VectorIndexException($"USearch {what} failed: {ex.Message}", ex);
        }
        catch (DllNotFoundException ex)
        {
            throw new VectorIndexException($"USearch native library (libusearch_c) could not be loaded for {what}: {ex.Message}", ex);
        }
    }

    private static void Native(Action call, string what) => Native(() => { call(); return 0; }, what);

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("vector files are little-endian; big-endian hosts are not supported");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}

/// <summary>The vector index failed: native USearch error, or corrupt / mismatched files.</summary>
public sealed class VectorIndexException(string message, Exception? inner = null) : Exception(message, inner);
