using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Otchatsa.Imaging;
using SkiaSharp;

namespace Otchatsa.Evaluation;

/// <summary>Person box vs the union of the K-Fashion garment boxes: the share of the garments the crop keeps.</summary>
public sealed record CoverageMetrics(int Photos, int PersonFound, double Mean, double Median, double AtLeast90);

/// <summary>p50/p95 of one pipeline stage in milliseconds.</summary>
public sealed record StageLatency(string Stage, double P50, double P95);

/// <summary>Latency of the full pipeline on a sample of photos, and the raw ONNX Runtime cost of ResNet18.</summary>
public sealed record LatencyMetrics(int Photos, IReadOnlyList<StageLatency> Stages, double ImagesPerSecond, double RawResNetP50);

/// <summary>Everything one <c>otchatsa eval</c> run measured.</summary>
public sealed record EvalReport(
    string Command,
    string Mode,
    string Queries,
    int Photos,
    string DefaultStrategy,
    IReadOnlyList<ViewResult> Views,
    CoverageMetrics? Coverage,
    LatencyMetrics? Latency,
    double Seconds)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The Markdown report; <paramref name="heatmapFile"/> is linked when given.</summary>
    public string ToMarkdown(string? heatmapFile)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Otchatsa evaluation ({Mode})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{Command}`");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Queries: `{Queries}` — {Photos} photos; {Seconds:F0} s.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Mall recall@3 counts queries whose mall has ≥ 3 photos in the (fold's) index; items = garment-category precision of the nine items.");
        md.AppendLine();
        md.AppendLine("| view | queries | style top-1 | top-3 | macro-F1 | " + string.Join(" | ", StrategyNames.Select(s => $"mall R@3 {s}")) + " | " +
                      string.Join(" | ", StrategyNames.Select(s => $"items {s}")) + " |");
        md.AppendLine("|---|---|---|---|---|" + string.Concat(StrategyNames.Select(_ => "---|---|")));
        foreach (var view in Views)
        {
            foreach (var c in view.Conditions)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {view.View} | {c.Queries} | {c.Style.Top1:F3} | {c.Style.Top3:F3} | {c.Style.MacroF1:F3} |");
                foreach (var s in StrategyNames)
                {
                    var m = c.Strategies.FirstOrDefault(x => x.Strategy == s);
                    md.Append(m is null ? " – |" : string.Create(CultureInfo.InvariantCulture, $" {m.MallRecallAt3:F3} (n={m.MallQueries}) |"));
                }
                foreach (var s in StrategyNames)
                {
                    var m = c.Strategies.FirstOrDefault(x => x.Strategy == s);
                    md.Append(m is null ? " – |" : string.Create(CultureInfo.InvariantCulture, $" {m.GarmentPrecision:F3} |"));
                }
                md.AppendLine();
            }
        }
        md.AppendLine();
        var first = Views.FirstOrDefault();
        if (first is not null)
        {
            foreach (var c in first.Conditions)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"## Styles — {first.View}, {c.Queries} ({c.Style.Queries} queries, {c.Style.Excluded} with a style the head does not know)");
                md.AppendLine();
                md.AppendLine("| style | precision | recall | F1 | support |");
                md.AppendLine("|---|---|---|---|---|");
                foreach (var k in c.Style.PerClass)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {k.Id} | {k.Precision:F3} | {k.Recall:F3} | {k.F1:F3} | {k.Support} |");
                }
                md.AppendLine();
                md.AppendLine("Confusion matrix (rows: true style, columns: predicted):");
                md.AppendLine();
                md.AppendLine("```");
                md.Append(ConfusionText(c.Style));
                md.AppendLine("```");
                md.AppendLine();
            }
            if (heatmapFile is not null)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"![confusion matrix]({heatmapFile})");
                md.AppendLine();
            }
        }
        if (Coverage is not null)
        {
            md.AppendLine("## Person crop");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Share of the union of the labelled garment boxes inside the person box, over {Coverage.Photos} photos (person found in {Coverage.PersonFound}): mean {Coverage.Mean:F3}, median {Coverage.Median:F3}, ≥ 0.9 for {Coverage.AtLeast90:P1}.");
            md.AppendLine();
        }
        if (Latency is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## Latency ({Latency.Photos} photos, full pipeline, {Latency.ImagesPerSecond:F1} images/s; raw ResNet18 ONNX Runtime p50 {Latency.RawResNetP50:F1} ms)");
            md.AppendLine();
            md.AppendLine("| stage | p50 ms | p95 ms |");
            md.AppendLine("|---|---|---|");
            foreach (var s in Latency.Stages)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Stage} | {s.P50:F1} | {s.P95:F1} |");
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    private IReadOnlyList<string> StrategyNames =>
        Views.SelectMany(v => v.Conditions).SelectMany(c => c.Strategies).Select(s => s.Strategy).Distinct().ToArray();

    public static string ConfusionText(StyleMetrics style)
    {
        var width = Math.Max(8, style.Classes.Max(c => c.Length) + 1);
        var text = new StringBuilder();
        text.Append("true \\ pred".PadRight(width));
        foreach (var c in style.Classes)
        {
            text.Append(c.PadLeft(width));
        }
        text.AppendLine();
        for (var i = 0; i < style.Classes.Count; i++)
        {
            text.Append(style.Classes[i].PadRight(width));
            foreach (var n in style.Confusion[i])
            {
                text.Append(n.ToString(CultureInfo.InvariantCulture).PadLeft(width));
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>A PNG heatmap of the confusion matrix, shaded by row share (recall), with counts in the cells.</summary>
    public static byte[] ConfusionPng(StyleMetrics style, string title)
    {
        const int cell = 72;
        const int labelWidth = 130;
        const int top = 70;
        var n = style.Classes.Count;
        var info = new SKImageInfo(labelWidth + n * cell + 20, top + n * cell + 20, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var face = CollageFonts.Resolve(CollageFonts.WellKnownFontFiles).Primary;
        using var font = new SKFont(face ?? SKTypeface.Default, 14) { Edging = SKFontEdging.Antialias };
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var light = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var fill = new SKPaint { IsAntialias = false };
        var drawText = face is not null;
        if (drawText)
        {
            canvas.DrawText(title, 10, 22, SKTextAlign.Left, font, ink);
        }
        for (var i = 0; i < n; i++)
        {
            var rowTotal = Math.Max(1, style.Confusion[i].Sum());
            if (drawText)
            {
                canvas.DrawText(style.Classes[i], labelWidth - 8, top + i * cell + cell / 2f + 5, SKTextAlign.Right, font, ink);
                canvas.DrawText(style.Classes[i], labelWidth + i * cell + cell / 2f, top - 10, SKTextAlign.Center, font, ink);
            }
            for (var j = 0; j < n; j++)
            {
                var share = style.Confusion[i][j] / (double)rowTotal;
                var shade = (byte)(255 - 200 * share);
                fill.Color = new SKColor(shade, shade, 255);
                var rect = SKRect.Create(labelWidth + j * cell, top + i * cell, cell - 2, cell - 2);
                canvas.DrawRect(rect, fill);
                if (drawText)
                {
                    canvas.DrawText(style.Confusion[i][j].ToString(CultureInfo.InvariantCulture), rect.MidX, rect.MidY + 5, SKTextAlign.Center, font, share > 0.6 ? light : ink);
                }
            }
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
