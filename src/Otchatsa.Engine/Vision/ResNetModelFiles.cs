using System.Security.Cryptography;

namespace Otchatsa.Vision;

/// <summary>
/// The ResNet18 files the embedder runs, derived from the NuGet model: our fashion embedder (package + delta), the
/// batched fp32 copy and the int8 copy. Each is
/// built once per machine (deterministically, by <see cref="ResNetQuantizer"/>) and kept in a model cache
/// (<c>$OTCHATSA_MODEL_CACHE</c>, else <c>$XDG_CACHE_HOME/otchatsa/models</c>, else <c>~/.cache/otchatsa/models</c>), so
/// later start-ups load a file like any other model instead of rewriting 63 MB in memory. A cached int8 file is used
/// only when its SHA-256 is the one its model card names; files are written under a temporary name and renamed.
/// </summary>
public static class ResNetModelFiles
{
    public const string CacheVariable = "OTCHATSA_MODEL_CACHE";

    // Bump when ResNetQuantizer.Batched changes its output.
    private const string BatchedRecipe = "batched-v1";

    // Bump when EmbedderDelta.Apply changes its output.
    private const string DeltaRecipe = "delta-v1";

    public static string CacheRoot => Pipeline.CacheFolders.Resolve(CacheVariable, "models");

    /// <summary>
    /// The package's network with our fashion embedder's delta added (<see cref="EmbedderDelta.Apply"/>): the fp32 source
    /// the batched and int8 copies are then made from. Named after both files' SHA-256, so another delta or package makes
    /// another file.
    /// </summary>
    public static ModelSource FineTuned(string packagePath, string packageSha256, string deltaPath, string deltaSha256) =>
        Cached($"resnet18-fashion-{deltaSha256[..16]}-{packageSha256[..16]}-{DeltaRecipe}.onnx", expectedSha256: null,
            () => EmbedderDelta.Apply(File.ReadAllBytes(packagePath), File.ReadAllBytes(deltaPath)));

    /// <summary>The fp32 model with a symbolic batch: a cached file path, or the bytes when the cache cannot be written.</summary>
    public static ModelSource BatchedFp32(ModelSource source, string sourceSha256) =>
        Cached($"resnet18-fp32-{sourceSha256[..16]}-{BatchedRecipe}.onnx", expectedSha256: null,
            () => ResNetQuantizer.Batched(source.ReadAllBytes()));

    /// <summary>The int8 model of <paramref name="card"/>; throws when the rebuilt bytes are not the ones the card names.</summary>
    public static ModelSource Int8(ModelSource source, Int8ModelCard card) =>
        Cached($"resnet18-int8-{card.ModelSha256[..16]}.onnx", card.ModelSha256, () =>
        {
            var bytes = ResNetQuantizer.Quantize(source.ReadAllBytes(), card.Ranges);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (!string.Equals(sha, card.ModelSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException(
                    $"The int8 ResNet18 rebuilt from its card has SHA-256 {sha[..12]}…, the card names {card.ModelSha256[..12]}…: " +
                    "the quantizer changed since the card was made; run `otchatsa models quantize` again.");
            }
            return bytes;
        });

    private static ModelSource Cached(string fileName, string? expectedSha256, Func<byte[]> build)
    {
        var path = Path.Combine(CacheRoot, fileName);
        try
        {
            if (File.Exists(path) && (expectedSha256 is null || Sha256Matches(path, expectedSha256)))
            {
                return new ModelSource(path, null);
            }
        }
        catch (IOException)
        {
            // Unreadable: rebuild below.
        }
        var bytes = build();
        try
        {
            Directory.CreateDirectory(CacheRoot);
            var temporary = path + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
            return new ModelSource(path, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ModelSource(null, bytes);
        }
    }

    private static bool Sha256Matches(string path, string expected)
    {
        using var stream = File.OpenRead(path);
        return string.Equals(Convert.ToHexStringLower(SHA256.HashData(stream)), expected, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>A model to open: a file, or (when no cache could be written) its bytes.</summary>
public sealed record ModelSource(string? Path, byte[]? Bytes)
{
    public byte[] ReadAllBytes() => Bytes ?? File.ReadAllBytes(Path!);

    /// <summary>SHA-256 of the model's bytes (a file's is computed once per process).</summary>
    public string Sha256() => Path is not null ? Catalog.ModelHashes.Of(Path) : Convert.ToHexStringLower(SHA256.HashData(Bytes!));
}
