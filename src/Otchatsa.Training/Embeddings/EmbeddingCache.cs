using System.Security.Cryptography;
using System.Text;

namespace Otchatsa.Embeddings;

/// <summary>
/// Vectors computed from photos, kept on disk so that training and evaluation compute each (image, models, view) once.
/// Layout: <c>&lt;root&gt;/&lt;models key&gt;/&lt;unit&gt;.bin</c>, one append-only file per unit (a view such as
/// <c>crop</c> or <c>whole~mirror</c>, or the <c>person</c> record) holding fixed-size records
/// (32-byte image SHA-256, then the floats). Appends are single writes, so a crash leaves at most a torn last record,
/// which loading ignores. Thread-safe; several processes may append to the same files.
/// </summary>
public sealed class EmbeddingCache
{
    private const int KeyBytes = 32;
    private static readonly byte[] Magic = "OTEC1\0\0\0"u8.ToArray();

    private readonly Dictionary<string, Unit> _units = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <param name="root">Cache folder; created on first write.</param>
    /// <param name="modelsKey">Identifies the models the vectors come from (see <see cref="KeyOf"/>).</param>
    public EmbeddingCache(string root, string modelsKey)
    {
        Root = Path.GetFullPath(root);
        ModelsKey = modelsKey;
    }

    public string Root { get; }

    public string ModelsKey { get; }

    public string Directory => Path.Combine(Root, ModelsKey);

    /// <summary><c>$OTCHATSA_CACHE</c>, else <c>$XDG_CACHE_HOME/otchatsa/embeddings</c>, else <c>~/.cache/otchatsa/embeddings</c>.</summary>
    public static string DefaultRoot => Pipeline.CacheFolders.Resolve("OTCHATSA_CACHE", "embeddings");

    /// <summary>A short key over the hashes of every model that shapes the vectors.</summary>
    public static string KeyOf(params string[] modelHashes)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("|", modelHashes)));
        return Convert.ToHexStringLower(digest)[..16];
    }

    /// <summary>The SHA-256 of photo bytes, the image part of every key.</summary>
    public static byte[] ImageKey(ReadOnlySpan<byte> photo) => SHA256.HashData(photo);

    /// <summary>A key for an image derived from others (e.g. a person pasted onto another background).</summary>
    public static byte[] DerivedKey(string recipe, params byte[][] sources)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(recipe));
        foreach (var source in sources)
        {
            hash.AppendData(source);
        }
        return hash.GetHashAndReset();
    }

    public bool TryGet(string unit, byte[] imageKey, int dims, out float[] vector)
    {
        lock (_gate)
        {
            return Open(unit, dims).Vectors.TryGetValue(Convert.ToHexString(imageKey), out vector!);
        }
    }

    public void Put(string unit, byte[] imageKey, float[] vector)
    {
        if (imageKey.Length != KeyBytes)
        {
            throw new ArgumentException("Image keys are SHA-256 digests.", nameof(imageKey));
        }
        lock (_gate)
        {
            var u = Open(unit, vector.Length);
            var hex = Convert.ToHexString(imageKey);
            if (u.Vectors.ContainsKey(hex))
            {
                return;
            }
            var record = new byte[KeyBytes + vector.Length * 4];
            imageKey.CopyTo(record, 0);
            Buffer.BlockCopy(vector, 0, record, KeyBytes, vector.Length * 4);
            System.IO.Directory.CreateDirectory(Directory);
            using (var stream = new FileStream(u.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            {
                if (stream.Position == 0)
                {
                    stream.Write(Magic);
                    stream.Write(BitConverter.GetBytes(vector.Length));
                }
                stream.Write(record);
            }
            u.Vectors[hex] = (float[])vector.Clone();
        }
    }

    private Unit Open(string unit, int dims)
    {
        if (_units.TryGetValue(unit, out var open))
        {
            if (open.Dims != dims)
            {
                throw new InvalidOperationException($"Cache unit '{unit}' holds {open.Dims}-d vectors, not {dims}-d.");
            }
            return open;
        }
        var path = Path.Combine(Directory, FileNameOf(unit));
        var loaded = new Unit(path, dims);
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var header = Magic.Length + 4;
            if (bytes.Length >= header && bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)
                && BitConverter.ToInt32(bytes, Magic.Length) == dims)
            {
                var size = KeyBytes + dims * 4;
                var offset = header;
                for (; offset + size <= bytes.Length; offset += size)
                {
                    var vector = new float[dims];
                    Buffer.BlockCopy(bytes, offset + KeyBytes, vector, 0, dims * 4);
                    loaded.Vectors[Convert.ToHexString(bytes, offset, KeyBytes)] = vector;
                }
                if (offset < bytes.Length)
                {
                    // A torn record from an interrupted write: cut it off, or the next append would be misaligned.
                    using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                    stream.SetLength(offset);
                }
            }
            else
            {
                // An unreadable or differently shaped file is set aside, not trusted: it will be recomputed.
                File.Move(path, path + ".bad-" + DateTime.UtcNow.Ticks, overwrite: true);
            }
        }
        _units[unit] = loaded;
        return loaded;
    }

    private static string FileNameOf(string unit)
    {
        var safe = new StringBuilder(unit.Length + 4);
        foreach (var ch in unit)
        {
            safe.Append(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '~' or '.' ? ch : '_');
        }
        return safe.Append(".bin").ToString();
    }

    private sealed class Unit(string path, int dims)
    {
        public string Path { get; } = path;
        public int Dims { get; } = dims;
        public Dictionary<string, float[]> Vectors { get; } = new(StringComparer.Ordinal);
    }
}
