using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Otchatsa.Recommending;

namespace Otchatsa.Pipeline;

/// <summary>
/// The JSON object of the CLI contract (DESIGN.md): one per input photo. Other tools parse these names; keep them.
/// </summary>
public sealed record RecommendJson(
    string Image,
    bool Ok,
    ErrorJson? Error,
    PersonJson? Person,
    StyleJson? Style,
    IReadOnlyList<StyleRefJson>? TopStyles,
    IReadOnlyList<MallJson>? Malls,
    TimingsJson? TimingsMs)
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public string ToJsonLine() => JsonSerializer.Serialize(this, Options);

    public static RecommendJson Failure(string image, string code, string message) =>
        new(image, false, new ErrorJson(code, message), null, null, null, null, null);

    public static RecommendJson From(string image, RecommendResult result)
    {
        var analysis = result.Analysis;
        var box = analysis.PersonBoxOriginal;
        var rec = result.Recommendation;
        return new RecommendJson(
            image,
            true,
            null,
            // Not an outfit: no person is claimed, so no front end draws a box around a shoe.
            new PersonJson(analysis.Person.Found && !rec.NotAnOutfit, [box.Left, box.Top, box.Width, box.Height], Round(analysis.Person.Coverage)),
            rec.Style is null ? null : new StyleJson(rec.Style.Style.Id, rec.Style.Style.NameKo, rec.Style.Style.NameEn, Round(rec.Style.Score)),
            rec.TopStyles.Select(s => new StyleRefJson(s.Style.Id, Round(s.Score))).ToArray(),
            rec.Malls.Select(m => new MallJson(
                m.Mall.Name,
                Round(m.Score),
                Round(m.StyleShare),
                m.Mall.Url,
                m.Items.Select(i => new ItemJson(i.Item.Image, i.Item.Title, i.Item.Url, i.Item.Price, Round(i.Similarity))).ToArray()))
                .ToArray(),
            new TimingsJson(
                Ms(analysis.Timings.Decode),
                Ms(analysis.Timings.Segment),
                Ms(analysis.Timings.Embed),
                Ms(result.ClassifyMs),
                Ms(result.SearchMs),
                Ms(result.TotalMs)));
    }

    private static double Round(float value) => Math.Round(value, 4);

    private static double Ms(double value) => Math.Round(value, 2);
}

public sealed record ErrorJson(string Code, string Message);

public sealed record PersonJson(bool Found, int[] Box, double Coverage);

public sealed record StyleJson(string Id, string NameKo, string NameEn, double Score);

public sealed record StyleRefJson(string Id, double Score);

public sealed record MallJson(string Mall, double Score, double StyleShare, string? Url, IReadOnlyList<ItemJson> Items);

public sealed record ItemJson(string Image, string? Title, string? Url, string? Price, double Similarity);

public sealed record TimingsJson(double Decode, double Segment, double Embed, double Classify, double Search, double Total);
