using Otchatsa.Catalog;
using Otchatsa.OnnxFiles;
using Otchatsa.Pipeline;

namespace Otchatsa.Vision;

/// <summary>
/// Our fashion embedder in the form the product loads (made by the model builder, not in git: 13 MB):
/// <c>models/fashion_embedder.delta.onnx</c>, the change
/// <c>tools/embedder-train</c> (<c>train.py delta</c>) made to the NuGet ResNet18's weights, and its card
/// <c>models/fashion_embedder.card.json</c> (training data hashes, folds, losses, the package's SHA-256 it applies to).
/// The delta is an ONNX file holding only initializers named after the package graph's: a convolution's change as int8
/// per output channel with its scale in <c>&lt;name&gt;::scale</c> (change = q × scale), a batch norm's change as
/// float32. <see cref="Apply"/> adds it to the package's graph, which keeps its structure, so the batched copy and the
/// int8 quantizer (<see cref="ResNetQuantizer"/>) apply to the result as they do to the package's network.
/// </summary>
public static class EmbedderDelta
{
    public const string FileName = "fashion_embedder.delta.onnx";
    public const string CardFileName = "fashion_embedder.card.json";
    public const string ScaleSuffix = "::scale";

    /// <summary>The package's graph with the delta added to its initializers (every changed tensor must exist there, same shape).</summary>
    public static byte[] Apply(byte[] package, byte[] delta)
    {
        var model = OnnxModel.Parse(package);
        var changes = OnnxModel.Parse(delta).Initializers;
        if (changes.Count == 0)
        {
            throw new InvalidDataException("The embedder delta holds no change.");
        }
        foreach (var (name, change) in changes)
        {
            if (name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                continue;
            }
            if (!model.Initializers.TryGetValue(name, out var target) || target.DataType != OnnxTensor.Float)
            {
                throw new InvalidDataException($"The embedder delta changes '{name}', which the package's ResNet18 does not have as a float tensor.");
            }
            if (change.ElementCount != target.ElementCount)
            {
                throw new InvalidDataException(
                    $"The embedder delta's '{name}' has {change.ElementCount} values, the package's {target.ElementCount}.");
            }
            var values = target.Floats();
            switch (change.DataType)
            {
                case OnnxTensor.Float:
                    var d = change.Floats();
                    for (var i = 0; i < values.Length; i++)
                    {
                        values[i] += d[i];
                    }
                    break;
                case OnnxTensor.Int8:
                    var scale = changes.TryGetValue(name + ScaleSuffix, out var s) ? s.Floats()
                        : throw new InvalidDataException($"The embedder delta's '{name}' has no '{name}{ScaleSuffix}'.");
                    var perChannel = values.Length / scale.Length;
                    if (scale.Length == 0 || perChannel * scale.Length != values.Length || scale.Length != target.Dims[0])
                    {
                        throw new InvalidDataException($"The embedder delta's '{name}{ScaleSuffix}' does not have one value per output channel.");
                    }
                    for (var i = 0; i < values.Length; i++)
                    {
                        // float32 as numpy computes it in train.py's apply_delta: base + q * scale.
                        values[i] += (sbyte)change.Raw[i] * scale[i / perChannel];
                    }
                    break;
                default:
                    throw new InvalidDataException($"The embedder delta's '{name}' has element type {change.DataType} (float or int8 expected).");
            }
            model.Initializers[name] = OnnxTensor.Of(name, target.Dims, values);
        }
        return model.ToBytes();
    }

    /// <summary>
    /// The card beside the delta; throws with a message fit to show when it is missing or was made for another package
    /// file than <paramref name="packageSha256"/>.
    /// </summary>
    public static FashionEmbedderCard CheckedCard(string deltaPath, string packageSha256)
    {
        var cardPath = Path.Combine(Path.GetDirectoryName(deltaPath) ?? ".", CardFileName);
        if (!File.Exists(cardPath))
        {
            throw new FileNotFoundException($"The fashion embedder '{deltaPath}' has no card {CardFileName} beside it.", cardPath);
        }
        var card = ModelCardFile.Load<FashionEmbedderCard>(cardPath, "a fashion embedder card");
        if (!string.Equals(card.BaseSha256, packageSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"The fashion embedder was trained on ResNet18 {Short(card.BaseSha256)}…, not on this package's {Short(packageSha256)}…: " +
                "restore Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1 or train it again (tools/embedder-train).");
        }
        var deltaSha = ModelHashes.Of(deltaPath);
        if (!string.Equals(card.Sha256, deltaSha, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"{FileName} has SHA-256 {Short(deltaSha)}…, its card names {Short(card.Sha256)}…: the file is damaged or not the card's; check it out again.");
        }
        return card;
    }

    private static string Short(string? sha) => string.IsNullOrEmpty(sha) ? "(none)" : sha[..Math.Min(12, sha.Length)];
}

/// <summary>The fields of <c>fashion_embedder.card.json</c> the engine checks (the card holds the whole training record).</summary>
/// <param name="Model">The delta's file name.</param>
/// <param name="Sha256">The delta file's SHA-256.</param>
/// <param name="BaseSha256">SHA-256 of the package's ResNet18.onnx the delta applies to.</param>
public sealed record FashionEmbedderCard(string Model, string Sha256, string BaseSha256);
