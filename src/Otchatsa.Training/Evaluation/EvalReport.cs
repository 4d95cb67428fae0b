using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text;
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
    public string ToMarkdown(string? heatmapFile, IReadOnlyDictionary<string, IReadOnlyList<string>>? figures = null)
    {
        var md = new StringBuilder();
        AppendSummary(md);
        var first = Views.FirstOrDefault();
        if (first is not null)
        {
            foreach (var c in first.Conditions)
            {
                AppendStyles(md, first.View, c, figures);
            }
            if (heatmapFile is not null)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"![confusion matrix]({heatmapFile})");
                md.AppendLine();
            }
        }
        foreach (var view in Views.Where(v => v.Calibration is not null))
        {
            AppendCalibration(md, view.View, view.Calibration!);
        }
        if (Coverage is not null)
        {
            AppendCoverage(md, Coverage);
        }
        if (Latency is not null)
        {
            AppendLatency(md, Latency);
        }
        return md.ToString();
    }

    /// <summary>The title, the command, and one table row per view and query condition.</summary>
    private void AppendSummary(StringBuilder md)
    {
        md.AppendLine(CultureInfo.InvariantCulture, $"# Otchatsa evaluation ({Mode})");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{Command}`");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Queries: `{Queries}` — {Photos} photos; {Seconds:F0} s.");
        md.AppendLine(CultureInfo.InvariantCulture, $"Mall recall@3 counts queries whose mall has ≥ 3 photos in the (fold's) index; items = garment-category precision of the nine items.");
        md.AppendLine();
        md.AppendLine("| view | queries | style top-1 | top-3 | macro-F1 | ECE | styles named | " + string.Join(" | ", StrategyNames.Select(s => $"mall R@3 {s}")) + " | " +
                      string.Join(" | ", StrategyNames.Select(s => $"items {s}")) + " |");
        md.AppendLine("|---|---|---|---|---|---|---|" + string.Concat(StrategyNames.Select(_ => "---|---|")));
        foreach (var view in Views)
        {
            foreach (var c in view.Conditions)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {view.View} | {c.Queries} | {c.Style.Top1:F3} | {c.Style.Top3:F3} | {c.Style.MacroF1:F3} | {c.Style.Ece:F3} | {c.Style.ClassesNamed} of {c.Style.Classes.Count} |");
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
    }

    /// <summary>One query condition of the first view: style metrics, per-style table, confusion, reliability, figures.</summary>
    private static void AppendStyles(StringBuilder md, string view, ConditionResult c, IReadOnlyDictionary<string, IReadOnlyList<string>>? figures)
    {
        md.AppendLine(CultureInfo.InvariantCulture, $"## Styles — {view}, {c.Queries} ({c.Style.Queries} queries, {c.Style.Excluded} with a style the head does not know)");
        md.AppendLine();
        var supported = c.Style.PerClass.Count(k => k.Support > 0);
        md.AppendLine(CultureInfo.InvariantCulture,
            $"As served (head mixed with the labelled neighbours, calibrated): top-1 {c.Style.Top1:F3}, top-3 {c.Style.Top3:F3}, macro-F1 {c.Style.MacroF1:F3} (over the {supported} styles present), ECE {c.Style.Ece:F3}, {c.Style.ClassesNamed} of {c.Style.Classes.Count} styles named at least once, right parent category {c.Style.ParentTop1:F3}.");
        if (c.HeadOnly is { } h)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Head alone (calibrated): top-1 {h.Top1:F3}, top-3 {h.Top3:F3}, macro-F1 {h.MacroF1:F3}, ECE {h.Ece:F3}, {h.ClassesNamed} styles named, right parent {h.ParentTop1:F3}.");
        }
        if (supported >= 20)
        {
            md.AppendLine("For comparison: the seed project, trained on the full AI Hub K-Fashion data, reached top-1 0.322 over the 23 styles (chance 0.043).");
        }
        md.AppendLine();
        md.AppendLine("| style | precision | recall | F1 | support |");
        md.AppendLine("|---|---|---|---|---|");
        // Styles neither present nor ever predicted in these queries carry no information: left out.
        foreach (var k in c.Style.PerClass.Where(k => k.Support > 0 || k.Precision > 0 || c.Style.Confusion.Any(row => row[c.Style.Classes.ToList().IndexOf(k.Id)] > 0)))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {k.Id} | {k.Precision:F3} | {k.Recall:F3} | {k.F1:F3} | {k.Support} |");
        }
        md.AppendLine();
        AppendMatrices(md, c.Style);
        if (figures is not null && figures.TryGetValue(c.Queries, out var files))
        {
            foreach (var file in files)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(file)}]({file})");
                md.AppendLine();
            }
        }
    }

    /// <summary>The confusion matrices over styles and parents, and the reliability table.</summary>
    private static void AppendMatrices(StringBuilder md, StyleMetrics style)
    {
        md.AppendLine("Confusion matrix (rows: true style, columns: predicted):");
        md.AppendLine();
        md.AppendLine("```");
        md.Append(ConfusionText(style));
        md.AppendLine("```");
        md.AppendLine();
        if (style.Parents.Count > 1)
        {
            md.AppendLine("Parent categories (rows: true parent, columns: parent of the predicted style):");
            md.AppendLine();
            md.AppendLine("```");
            md.Append(ConfusionText(style.Parents, style.ParentConfusion));
            md.AppendLine("```");
            md.AppendLine();
        }
        if (style.Reliability.Any(b => b.Count > 0))
        {
            md.AppendLine("Reliability (top-1 confidence bins with queries):");
            md.AppendLine();
            md.AppendLine("| confidence | queries | mean confidence | accuracy |");
            md.AppendLine("|---|---|---|---|");
            foreach (var b in style.Reliability.Where(b => b.Count > 0))
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {b.Low:F2}–{b.High:F2} | {b.Count} | {b.MeanConfidence:F3} | {b.Accuracy:F3} |");
            }
            md.AppendLine();
        }
    }

    private static void AppendCalibration(StringBuilder md, string view, CalibrationFit fit)
    {
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Calibration ({view}, fitted on the {fit.FittedOn} folds' out-of-fold predictions, cross-fitted per fold for the numbers above): head temperature {fit.HeadTemperature:F2}, mixed temperature {fit.MixTemperature:F2}; \"not sure\" below {fit.UnsureBelow:F2} (answers above were right ≥ 60 % of the time; 1.00 = never sure), parent named as certain from {fit.ParentSureAbove:F2}; \"not an outfit\" below a prototype similarity of {fit.OutfitThreshold:F3} (0.5 % of real outfits out of fold); with the person rule, real outfits called \"not an outfit\" out of fold: {fit.NotAnOutfitInStudio:P1} in-studio, {fit.NotAnOutfitOtherBackground:P1} on other backgrounds.");
        md.AppendLine();
    }

    private static void AppendCoverage(StringBuilder md, CoverageMetrics coverage)
    {
        md.AppendLine("## Person crop");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Share of the union of the labelled garment boxes inside the person box, over {coverage.Photos} photos (person found in {coverage.PersonFound}): mean {coverage.Mean:F3}, median {coverage.Median:F3}, ≥ 0.9 for {coverage.AtLeast90:P1}.");
        md.AppendLine();
    }

    private static void AppendLatency(StringBuilder md, LatencyMetrics latency)
    {
        md.AppendLine(CultureInfo.InvariantCulture, $"## Latency ({latency.Photos} photos, full pipeline, {latency.ImagesPerSecond:F1} images/s; raw ResNet18 ONNX Runtime p50 {latency.RawResNetP50:F1} ms)");
        md.AppendLine();
        md.AppendLine("| stage | p50 ms | p95 ms |");
        md.AppendLine("|---|---|---|");
        foreach (var s in latency.Stages)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Stage} | {s.P50:F1} | {s.P95:F1} |");
        }
        md.AppendLine();
    }

    private IReadOnlyList<string> StrategyNames =>
        Views.SelectMany(v => v.Conditions).SelectMany(c => c.Strategies).Select(s => s.Strategy).Distinct().ToArray();

    public static string ConfusionText(StyleMetrics style) => ConfusionText(style.Classes, style.Confusion);

    /// <summary>A confusion matrix as aligned text; rows without any query are left out.</summary>
    public static string ConfusionText(IReadOnlyList<string> classes, int[][] confusion)
    {
        var width = Math.Max(8, classes.Max(c => c.Length) + 1);
        var text = new StringBuilder();
        text.Append("true \\ pred".PadRight(width));
        foreach (var c in classes)
        {
            text.Append(c.PadLeft(width));
        }
        text.AppendLine();
        for (var i = 0; i < classes.Count; i++)
        {
            if (confusion[i].Sum() == 0)
            {
                continue;
            }
            text.Append(classes[i].PadRight(width));
            foreach (var n in confusion[i])
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
        var n = style.Classes.Count;
        var cell = n > 10 ? 44 : 72;
        var labelWidth = 130;
        var top = n > 10 ? 110 : 70;
        var info = new SKImageInfo(labelWidth + n * cell + 20, top + n * cell + 20, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var face = CollageFonts.Resolve(CollageFonts.WellKnownFontFiles).Primary;
        using var font = new SKFont(face ?? SKTypeface.Default, n > 10 ? 12 : 14) { Edging = SKFontEdging.Antialias };
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
                if (n > 10)
                {
                    // Column labels turned upright so 23 names fit.
                    canvas.Save();
                    canvas.Translate(labelWidth + i * cell + cell / 2f + 4, top - 6);
                    canvas.RotateDegrees(-60);
                    canvas.DrawText(style.Classes[i], 0, 0, SKTextAlign.Left, font, ink);
                    canvas.Restore();
                }
                else
                {
                    canvas.DrawText(style.Classes[i], labelWidth + i * cell + cell / 2f, top - 10, SKTextAlign.Center, font, ink);
                }
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

    /// <summary>A reliability diagram as PNG: per confidence bin, accuracy (bars) against the diagonal, with bin counts.</summary>
    public static byte[] ReliabilityPng(StyleMetrics style, string title)
    {
        const int width = 520, height = 520, left = 60, bottom = 60, top = 50, right = 20;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        var face = CollageFonts.Resolve(CollageFonts.WellKnownFontFiles).Primary;
        using var font = new SKFont(face ?? SKTypeface.Default, 13) { Edging = SKFontEdging.Antialias };
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true, StrokeWidth = 1 };
        using var grey = new SKPaint { Color = new SKColor(150, 150, 150), IsAntialias = true, StrokeWidth = 1 };
        using var bar = new SKPaint { Color = new SKColor(90, 120, 220), IsAntialias = false };
        using var gap = new SKPaint { Color = new SKColor(240, 120, 100, 140), IsAntialias = false };
        float X(double v) => left + (float)v * plotW;
        float Y(double v) => top + plotH - (float)v * plotH;
        foreach (var b in style.Reliability.Where(b => b.Count > 0))
        {
            canvas.DrawRect(SKRect.Create(X(b.Low) + 1, Y(b.Accuracy), (float)((b.High - b.Low) * plotW) - 2, (float)(b.Accuracy * plotH)), bar);
            // The gap to the bin's mean confidence (what the ECE sums).
            var (lo, hi) = (Math.Min(b.Accuracy, b.MeanConfidence), Math.Max(b.Accuracy, b.MeanConfidence));
            canvas.DrawRect(SKRect.Create(X(b.Low) + 1, Y(hi), (float)((b.High - b.Low) * plotW) - 2, (float)((hi - lo) * plotH)), gap);
        }
        canvas.DrawLine(X(0), Y(0), X(1), Y(1), grey);
        canvas.DrawLine(X(0), Y(0), X(1), Y(0), ink);
        canvas.DrawLine(X(0), Y(0), X(0), Y(1), ink);
        if (face is not null)
        {
            canvas.DrawText(title, 10, 22, SKTextAlign.Left, font, ink);
            canvas.DrawText(string.Create(CultureInfo.InvariantCulture, $"ECE {style.Ece:F3} over {style.Queries} queries"), 10, 40, SKTextAlign.Left, font, ink);
            for (var t = 0; t <= 10; t += 2)
            {
                var v = t / 10.0;
                canvas.DrawText(v.ToString("F1", CultureInfo.InvariantCulture), X(v), height - bottom + 18, SKTextAlign.Center, font, ink);
                canvas.DrawText(v.ToString("F1", CultureInfo.InvariantCulture), left - 8, Y(v) + 4, SKTextAlign.Right, font, ink);
            }
            canvas.DrawText("confidence of the top style", left + plotW / 2f, height - 18, SKTextAlign.Center, font, ink);
            canvas.Save();
            canvas.Translate(16, top + plotH / 2f);
            canvas.RotateDegrees(-90);
            canvas.DrawText("accuracy", 0, 0, SKTextAlign.Center, font, ink);
            canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
