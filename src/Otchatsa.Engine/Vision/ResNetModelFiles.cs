using System.Security.Cryptography;

namespace Otchatsa.Vision;

/// <summary>
/// The ResNet18 files the embedder runs, derived from the NuGet model: the batched fp32 copy and the int8 copy. Each is
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

    public static string CacheRoot => Pipeline.CacheFolders.Resolve(CacheVariable, "models");

    /// <summary>The fp32 model with a symbolic batch: a cached file path, or the bytes when the cache cannot be written.</summary>
    public static ModelSource BatchedFp32(string resnetPath, string resnetSha256) =>
        Cached($"resnet18-fp32-{resnetSha256[..16]}-{BatchedRecipe}.onnx", expectedSha256: null,
            () => ResNetQuantizer.Batched(File.ReadAllBytes(resnetPath)));

    /// <summary>The int8 model of <paramref name="card"/>; throws when the rebuilt bytes are not the ones the card names.</summary>
    public static ModelSource Int8(string resnetPath, Int8ModelCard card) =>
        Cached($"resnet18-int8-{card.ModelSha256[..16]}.onnx", card.ModelSha256, () =>
        {
            var bytes = ResNetQuantizer.Quantize(File.ReadAllBytes(resnetPath), card.Ranges);
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
public sealed record ModelSource(string? Path, byte[]? Bytes);
