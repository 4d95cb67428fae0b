using System.Security.Cryptography;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Web;

/// <summary>The routes. Route values are parsed and checked here; none of them is ever used as a file path.</summary>
internal static class WebEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/", Home);
        routes.MapPost("/recommend", RecommendForm).RequireRateLimiting(WebServiceCollectionExtensions.RecommendPolicy);
        routes.MapGet("/recommend", () => Results.Redirect("/"));
        routes.MapGet("/r/{id}", ResultPage);
        routes.MapGet("/r/{id}/photo", ResultPhoto);
        routes.MapGet("/styles/{id}", StylePage);
        routes.MapGet("/assets/{name}", Asset);
        routes.MapGet("/favicon.ico", () => Results.Redirect("/assets/favicon.svg", permanent: true));
        routes.MapGet("/thumbs/{id}", Thumb);
        routes.MapGet("/healthz", Health);
        routes.MapGet("/api/styles", ApiStyles);
        routes.MapPost("/api/recommend", ApiRecommend).RequireRateLimiting(WebServiceCollectionExtensions.RecommendPolicy);
        routes.MapFallback((HttpContext context) => Respond.Error(context, WebErrorCodes.NotFound, "No such page."));
    }

    private static IResult Home(HttpContext context, IAntiforgery antiforgery, WebRuntime runtime, IOptions<WebOptions> options)
    {
        var t = Texts.Resolve(context);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Respond.Page(context, t, t.Tagline, Pages.Home(t, tokens.RequestToken ?? "", runtime, options.Value.MaxRequestBytes), "/");
    }

    private static async Task<IResult> RecommendForm(
        HttpContext context, IAntiforgery antiforgery, WebRuntime runtime, ResultStore results, AnalysisGate gate, IOptions<WebOptions> options)
    {
        var upload = await Uploads.ReadAsync(context, options.Value.MaxRequestBytes).ConfigureAwait(false);
        if (upload.ErrorCode == ImageErrorCode.TooLarge.ToWire() && upload.Form is null)
        {
            return Respond.ErrorPage(context, upload.ErrorCode);
        }
        if (upload.Form is not null && !await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
        {
            return Respond.ErrorPage(context, WebErrorCodes.BadRequest);
        }
        if (upload.ErrorCode is not null)
        {
            return Respond.ErrorPage(context, upload.ErrorCode);
        }
        var outcome = await AnalyzeAsync(context, runtime, gate, options.Value, upload.Bytes!).ConfigureAwait(false);
        if (outcome.ErrorCode is not null)
        {
            return Respond.ErrorPage(context, outcome.ErrorCode);
        }
        var id = results.Add(outcome.View!);
        // 303 so a reload of the result page never re-posts the photo.
        context.Response.Headers.Location = $"/r/{id}";
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }

    private static IResult ResultPage(HttpContext context, string id, ResultStore results)
    {
        var view = results.Get(id);
        if (view is null)
        {
            return Respond.ErrorPage(context, ResultStore.IsWellFormed(id) ? WebErrorCodes.Expired : WebErrorCodes.NotFound);
        }
        var t = Texts.Resolve(context);
        return Respond.Page(context, t, t.ResultTitle, Pages.Result(t, id, view), $"/r/{id}");
    }

    private static IResult ResultPhoto(HttpContext context, string id, ResultStore results)
    {
        var view = results.Get(id);
        if (view is null)
        {
            return Results.NotFound();
        }
        context.Response.Headers.CacheControl = "private, max-age=600";
        return Results.Bytes(view.DisplayJpeg, "image/jpeg");
    }

    private static IResult StylePage(HttpContext context, string id, WebRuntime runtime)
    {
        if (!StyleTaxonomy.TryResolve(id, out var style))
        {
            return Respond.ErrorPage(context, WebErrorCodes.NotFound);
        }
        var t = Texts.Resolve(context);
        return Respond.Page(context, t, t.StyleName(style), Pages.Style(t, style, runtime.Current), $"/styles/{style.Id}");
    }

    private static IResult Thumb(HttpContext context, string id, WebRuntime runtime, ThumbnailCache thumbnails)
    {
        var current = runtime.Current;
        if (current is null)
        {
            return Respond.JsonFailure("", WebErrorCodes.Unavailable, "The catalog is still loading.");
        }
        if (!ulong.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var key)
            || key > long.MaxValue)
        {
            return Respond.JsonFailure("", WebErrorCodes.NotFound, "No such thumbnail.");
        }
        var thumbnail = thumbnails.Get(current.Index, key);
        if (thumbnail is null)
        {
            return Respond.JsonFailure("", WebErrorCodes.NotFound, "No such thumbnail.");
        }
        var headers = context.Response.Headers;
        headers.ETag = thumbnail.ETag;
        // The same id can mean another photo after the index is rebuilt, so revalidate daily rather than forever.
        headers.CacheControl = "public, max-age=86400";
        var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
        if (ifNoneMatch.Length > 0 && (ifNoneMatch == "*" || ifNoneMatch.Split(',').Any(tag => tag.Trim() == thumbnail.ETag || tag.Trim() == "W/" + thumbnail.ETag)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        return Results.Bytes(thumbnail.Jpeg, "image/jpeg");
    }

    private static IResult Health(WebRuntime runtime)
    {
        var current = runtime.Current;
        if (current is not null)
        {
            return Respond.Json(new
            {
                Status = "ready",
                Items = current.Index.Items.Count,
                Malls = current.Index.Malls.Count,
                Styles = current.Recommender.Classifier.Classes.Count,
            });
        }
        return runtime.Loaded.IsCompleted
            ? Respond.Json(new { Status = "failed", Error = runtime.Failure }, StatusCodes.Status503ServiceUnavailable)
            : Respond.Json(new { Status = "loading", Error = (string?)null }, StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult ApiStyles(WebRuntime runtime)
    {
        var current = runtime.Current;
        var known = current?.Recommender.Classifier.Classes.Select(s => s.Id).ToHashSet();
        var styles = StyleTaxonomy.All.Select(s =>
        {
            var parent = StyleTaxonomy.ParentOf(s);
            return new
            {
                s.Id,
                s.NameKo,
                s.NameEn,
                Parent = new { parent.Id, parent.NameKo, parent.NameEn },
                s.DescriptionKo,
                s.DescriptionEn,
                s.Aliases,
                // null while loading: which styles the classifier can name depends on the loaded model and index.
                Recognized = known?.Contains(s.Id),
                TopMalls = current is null
                    ? null
                    : Pages.TopMalls(current.Index, s).Select(m => new { Mall = m.Name, StyleShare = Math.Round(m.Share(s.Id), 4), m.Url }).ToArray(),
            };
        });
        return Respond.Json(styles.ToArray());
    }

    private static async Task<IResult> ApiRecommend(HttpContext context, WebRuntime runtime, AnalysisGate gate, IOptions<WebOptions> options)
    {
        var upload = await Uploads.ReadAsync(context, options.Value.MaxRequestBytes).ConfigureAwait(false);
        if (upload.ErrorCode is not null)
        {
            return Respond.JsonFailure(upload.Name, upload.ErrorCode, upload.ErrorMessage ?? "");
        }
        var outcome = await AnalyzeAsync(context, runtime, gate, options.Value, upload.Bytes!).ConfigureAwait(false);
        return outcome.ErrorCode is not null
            ? Respond.JsonFailure(upload.Name, outcome.ErrorCode, outcome.ErrorMessage ?? "")
            : Results.Text(RecommendJson.From(upload.Name, outcome.Result!).ToJsonLine(), Respond.JsonType, System.Text.Encoding.UTF8);
    }

    private sealed record Outcome(RecommendResult? Result, ResultView? View, string? ErrorCode, string? ErrorMessage);

    private static async Task<Outcome> AnalyzeAsync(HttpContext context, WebRuntime runtime, AnalysisGate gate, WebOptions options, byte[] photo)
    {
        var current = runtime.Current;
        if (current is null)
        {
            return new Outcome(null, null, WebErrorCodes.Unavailable,
                runtime.Loaded.IsCompleted ? "The engine could not be loaded." : "The models and the index are still loading.");
        }
        using var lease = await gate.EnterAsync(context.RequestAborted).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            return new Outcome(null, null, WebErrorCodes.RateLimited, "Every analysis slot is busy; retry in a few seconds.");
        }
        try
        {
            var (result, view) = PhotoAnalyzer.Analyze(current, Strategies.Create(options.Strategy), photo);
            return new Outcome(result, view, null, null);
        }
        catch (ImageRejectedException ex)
        {
            return new Outcome(null, null, ex.Code.ToWire(), ex.Message);
        }
    }

    private static readonly Dictionary<string, (byte[] Bytes, string ContentType, string ETag)> Assets = LoadAssets();

    private static IResult Asset(HttpContext context, string name)
    {
        // A fixed whitelist of embedded files: the route value is only a dictionary key.
        if (!Assets.TryGetValue(name, out var asset))
        {
            return Results.NotFound();
        }
        context.Response.Headers.ETag = asset.ETag;
        context.Response.Headers.CacheControl = "public, max-age=3600";
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static Dictionary<string, (byte[], string, string)> LoadAssets()
    {
        var assembly = typeof(WebEndpoints).Assembly;
        var assets = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"), ("favicon.svg", "image/svg+xml") })
        {
            using var stream = assembly.GetManifestResourceStream($"Otchatsa.Web.Assets.{name}")
                ?? throw new InvalidOperationException($"Embedded asset {name} is missing.");
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            assets[name] = (bytes, type, $"\"{Convert.ToHexString(SHA256.HashData(bytes).AsSpan(0, 8)).ToLowerInvariant()}\"");
        }
        return assets;
    }
}
