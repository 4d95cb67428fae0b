namespace Otchatsa.Styles;

/// <summary>
/// What serving checks in a style head's model card before it trusts the head: the embedding view, its size and the
/// models behind the training vectors. The trainer writes the whole card (Otchatsa.Training.StyleHeadCard); the other
/// fields are ignored here.
/// </summary>
public sealed record StyleHeadCardView
{
    public required string EmbeddingView { get; init; }

    public required int Dims { get; init; }

    public required IReadOnlyList<Catalog.ModelFingerprint> Models { get; init; }

    /// <summary>Where the card of <paramref name="onnxPath"/> lives: <c>x.onnx</c> → <c>x.card.json</c>.</summary>
    public static string PathFor(string onnxPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!, Path.GetFileNameWithoutExtension(onnxPath) + ".card.json");

    public static StyleHeadCardView Load(string path) => Pipeline.ModelCardFile.Load<StyleHeadCardView>(path, "a style head card");
}
