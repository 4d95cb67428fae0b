using Otchatsa.Catalog;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;

namespace Otchatsa.Styles;

/// <summary>Chooses the style classifier: the trained head when one is installed for this view, else the kNN vote.</summary>
public static class StyleClassifiers
{
    /// <summary>
    /// The installed head mixed with the catalog's labelled neighbours (the head alone when the catalog has no
    /// labels), or the neighbour vote alone when no matching head is installed.
    /// </summary>
    public static IStyleClassifier For(OutfitEngine engine, ICatalogView catalog) =>
        TryLoadHead(engine, out _) is { } head
            ? new NeighbourMixedStyleClassifier(head, catalog)
            : new KnnStyleClassifier(catalog);

    /// <summary>
    /// The installed head (<see cref="ModelPaths.StyleHead"/>) when its model card says it was trained on the engine's
    /// embedding view with the same models; otherwise null, with the reason (a head fed another view's vectors would
    /// answer with confident nonsense, so a mismatch is never served).
    /// </summary>
    public static OnnxStyleHead? TryLoadHead(OutfitEngine engine, out string reason)
    {
        var path = engine.Models.StyleHead;
        if (path is null || !File.Exists(path))
        {
            reason = "no style head installed";
            return null;
        }
        var cardPath = StyleHeadCardView.PathFor(path);
        if (!File.Exists(cardPath))
        {
            reason = $"the style head has no model card ({Path.GetFileName(cardPath)})";
            return null;
        }
        var card = StyleHeadCardView.Load(cardPath);
        if (!string.Equals(card.EmbeddingView, engine.Settings.Name, StringComparison.Ordinal) || card.Dims != engine.Settings.Dimensions)
        {
            reason = $"the style head was trained on the '{card.EmbeddingView}' view, the index uses '{engine.Settings.Name}'";
            return null;
        }
        var expected = IndexManifest.Expected(engine).Models;
        var mismatch = expected.FirstOrDefault(m => !card.Models.Any(c => c.Role == m.Role && c.Sha256 == m.Sha256));
        if (mismatch is not null)
        {
            reason = $"the style head was trained with another {mismatch.Role} model";
            return null;
        }
        reason = "";
        return OnnxStyleHead.Load(path);
    }
}
