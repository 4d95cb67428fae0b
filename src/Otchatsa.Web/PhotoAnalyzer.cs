using System.Diagnostics;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Imaging;

using Otchatsa.Pipeline;
using Otchatsa.Recommending;

namespace Otchatsa.Web;

/// <summary>Runs one uploaded photo through the engine and keeps what the pages need.</summary>
internal static class PhotoAnalyzer
{
    /// <summary>Longest side of the photo shown back on the result page.</summary>
    public const int DisplaySide = 1024;

    /// <summary>
    /// Decodes once (content-sniffed, size-limited by the engine), analyses, recommends, and re-encodes the photo for
    /// display, so the page only ever serves bytes the server produced itself. Throws <see cref="ImageRejectedException"/>.
    /// </summary>
    public static (RecommendResult Result, ResultView View) Analyze(OtchatsaRuntime runtime, IRecommendationStrategy strategy, ReadOnlySpan<byte> photo)
    {
        var clock = Stopwatch.StartNew();
        using var decoded = ImageDecoder.Decode(photo, runtime.Engine.Limits);
        var decodeMs = clock.Elapsed.TotalMilliseconds;
        var analysis = runtime.Engine.Analyze(decoded, decodeMs);
        var result = runtime.Recommender.Recommend(analysis, strategy);
        var display = Thumbnails.Jpeg(decoded.Bitmap, DisplaySide, quality: 85);
        var box = analysis.PersonBoxOriginal;
        var view = new ResultView(
            display,
            analysis.Width,
            analysis.Height,
            // Not an outfit: no person is claimed, so no box is drawn (around a shoe, say).
            analysis.Person.Found && !result.Recommendation.NotAnOutfit,
            [box.Left, box.Top, box.Width, box.Height],
            result.Recommendation);
        return (result, view);
    }
}
