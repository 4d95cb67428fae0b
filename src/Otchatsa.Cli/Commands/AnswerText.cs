using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>The human-readable form of one answer.</summary>
internal static class AnswerText
{
    public static void Write(IAnsiConsole console, RecommendJson line, RecommendResult? result = null)
    {
        if (!line.Ok)
        {
            console.MarkupLineInterpolated($"[red]{line.Image}[/]: {line.Error!.Message} ({line.Error.Code})");
            return;
        }
        var rec = result?.Recommendation;
        var unsure = line.Style is not null && (rec?.Unsure ?? line.Style.Score < OutfitRecommender.DefaultUnsureBelow);
        var parent = rec?.Parent is { } p ? $"; {p.NameEn} / {p.NameKo} for sure" : "";
        var style = rec?.NotAnOutfit == true ? "this doesn't look like an outfit photo; the most similar items are below"
            : line.Style is null ? "no style (the index has no labelled photos and no style head is installed)"
            : unsure ? $"not sure of the style{parent}; closest: {line.Style.NameEn} / {line.Style.NameKo} ({line.Style.Score:P0})"
            : $"{line.Style.NameEn} / {line.Style.NameKo} ({line.Style.Score:P0})";
        console.MarkupLineInterpolated($"[bold]{line.Image}[/]: {style}");
        if (line.TopStyles is { Count: > 1 })
        {
            console.MarkupLineInterpolated($"  {(unsure ? "also close" : "runner-ups")}: {string.Join(", ", line.TopStyles.Skip(1).Select(s => $"{s.Id} {s.Score:P0}"))}");
        }
        foreach (var mall in line.Malls ?? [])
        {
            console.MarkupLineInterpolated($"  [green]{mall.Mall}[/] score {mall.Score:F3}, style share {mall.StyleShare:P0}{(mall.Url is null ? "" : " " + mall.Url)}");
            foreach (var item in mall.Items)
            {
                console.MarkupLineInterpolated($"    {item.Image} (similarity {item.Similarity:F3}){(item.Title is null ? "" : " " + item.Title)}");
            }
        }
    }
}
