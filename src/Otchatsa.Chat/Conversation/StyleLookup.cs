using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Conversation;

/// <summary>
/// What every front end shows for one style: whether the classifier can name it, its malls
/// (<see cref="StyleMalls.Top"/>) and example photos from those malls.
/// </summary>
public sealed record StyleLookup(FashionStyle Style, bool Recognised, IReadOnlyList<MallProfile> Malls, IReadOnlyList<CatalogEntry> Examples)
{
    public static StyleLookup For(OtchatsaRuntime runtime, FashionStyle style)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(style);
        var malls = StyleMalls.Top(runtime.Index, style);
        return new StyleLookup(
            style,
            runtime.Recommender.Classifier.Classes.Any(c => c.Id == style.Id),
            malls,
            StyleMalls.Examples(runtime.Index, malls, style));
    }
}
