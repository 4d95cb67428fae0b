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
        var (upload, admission) = await AdmitAndReadAsync(context, runtime, gate, options.Value).ConfigureAwait(false);
        using (admission)
        using (upload)
        {
            if (upload.Form is not null && !await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
            {
                return Respond.ErrorPage(context, WebErrorCodes.BadRequest);
            }
            if (upload.ErrorCode is not null)
            {
                return Answer(context, Respond.ErrorPage(context, upload.ErrorCode));
            }
            var outcome = await AnalyzeAsync(context, runtime, gate, options.Value, upload.Photo).ConfigureAwait(false);
            if (outcome.ErrorCode is not null)
            {
                return Respond.ErrorPage(context, outcome.ErrorCode);
            }
            var id = results.Add(outcome.View!);
            // 303 so a reload of the result page never re-posts the photo.
            context.Response.Headers.Location = $"/r/{id}";
            return Results.StatusCode(StatusCodes.Status303SeeOther);
        }
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
                    : StyleMalls.Top(current.Index, s).Select(m => new { Mall = m.Name, StyleShare = Math.Round(m.Share(s.Id), 4), m.Url }).ToArray(),
            };
        });
        return Respond.Json(styles.ToArray());
    }

    private static async Task<IResult> ApiRecommend(HttpContext context, WebRuntime runtime, AnalysisGate gate, IOptions<WebOptions> options)
    {
        var (upload, admission) = await AdmitAndReadAsync(context, runtime, gate, options.Value).ConfigureAwait(false);
        using (admission)
        using (upload)
        {
            if (upload.ErrorCode is not null)
            {
                return Answer(context, Respond.JsonFailure(upload.Name, upload.ErrorCode, upload.ErrorMessage ?? ""));
            }
            var outcome = await AnalyzeAsync(context, runtime, gate, options.Value, upload.Photo).ConfigureAwait(false);
            return outcome.ErrorCode is not null
                ? Respond.JsonFailure(upload.Name, outcome.ErrorCode, outcome.ErrorMessage ?? "")
                : Results.Text(RecommendJson.From(upload.Name, outcome.Result!).ToJsonLine(), Respond.JsonType, System.Text.Encoding.UTF8);
        }
    }

    /// <summary>Retry-After while the engine loads (loading takes seconds).</summary>
    private const string LoadingRetryAfterSeconds = "5";

    /// <summary>
    /// Everything that can turn an upload away is decided before its body is read (the per-client rate limit ran
    /// earlier, in the middleware): the engine must be loaded, the declared length within the limit, and a place free
    /// in the <see cref="AnalysisGate"/> — 503 with <c>Retry-After</c> otherwise. Only then is the body streamed into
    /// a buffer lent by the gate. The returned admission (null when refused) is held until the request is answered.
    /// </summary>
    private static async Task<(Upload Upload, IDisposable? Admission)> AdmitAndReadAsync(
        HttpContext context, WebRuntime runtime, AnalysisGate gate, WebOptions options)
    {
        if (runtime.Current is null)
        {
            RefuseUnread(context, options.MaxRequestBytes);
            if (!runtime.Loaded.IsCompleted)
            {
                context.Response.Headers.RetryAfter = LoadingRetryAfterSeconds;
                return (Upload.Failed(WebErrorCodes.Unavailable, "The models and the index are still loading."), null);
            }
            return (Upload.Failed(WebErrorCodes.Unavailable, "The engine could not be loaded."), null);
        }
        if (Uploads.Check(context.Request, options.MaxRequestBytes) is { } refused)
        {
            RefuseUnread(context, options.MaxRequestBytes);
            return (refused, null);
        }
        var admission = gate.TryAdmit();
        if (!admission.IsAcquired)
        {
            admission.Dispose();
            RefuseUnread(context, options.MaxRequestBytes);
            return (Busy(context, gate), null);
        }
        try
        {
            return (await Uploads.ReadAsync(context, gate.MaxUploadBytes, gate.Buffers).ConfigureAwait(false), admission);
        }
        catch
        {
            admission.Dispose();
            throw;
        }
    }

    /// <summary>
    /// For an upload refused before its body was read. A declared oversize body is never read: the connection is
    /// closed after the answer. Otherwise the answer goes out first and the rest of the body is then read into a small
    /// scratch buffer and dropped, so the client (which may still be sending) sees the answer and the connection stays
    /// usable; a client that sent <c>Expect: 100-continue</c> is not asked for the body at all.
    /// </summary>
    internal static void RefuseUnread(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength is not > 0 && request.Headers.TransferEncoding.Count == 0)
        {
            return;
        }
        if (request.ContentLength > maxBytes
            || request.Headers.Expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.Connection = "close";
            return;
        }
        context.Items[DiscardBodyKey] = true;
    }

    private static readonly object DiscardBodyKey = new();

    /// <summary>Runs <paramref name="answer"/>, then discards the unread body when <see cref="RefuseUnread"/> asked for it.</summary>
    internal static IResult Answer(HttpContext context, IResult answer) =>
        context.Items.ContainsKey(DiscardBodyKey) ? new AnswerThenDiscardBody(answer) : answer;

    private sealed class AnswerThenDiscardBody(IResult answer) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            await answer.ExecuteAsync(httpContext).ConfigureAwait(false);
            await httpContext.Response.CompleteAsync().ConfigureAwait(false);
            var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                // Bounded by the server's body size limit and minimum data rate.
                while (await httpContext.Request.Body.ReadAsync(scratch, httpContext.RequestAborted).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is IOException or BadHttpRequestException or OperationCanceledException or InvalidOperationException)
            {
                // The client went away or sent too much: nothing to answer any more.
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    private static Upload Busy(HttpContext context, AnalysisGate gate)
    {
        context.Response.Headers.RetryAfter = ((int)gate.RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Upload.Failed(WebErrorCodes.Busy, "Every analysis slot is busy; retry after the time in Retry-After.");
    }

    private sealed record Outcome(RecommendResult? Result, ResultView? View, string? ErrorCode, string? ErrorMessage);

    private static async Task<Outcome> AnalyzeAsync(HttpContext context, WebRuntime runtime, AnalysisGate gate, WebOptions options, ReadOnlyMemory<byte> photo)
    {
        var current = runtime.Current!;
        // Only admitted requests wait here, so this queue never overflows; it only keeps them in arrival order.
        using var slot = await gate.WaitForSlotAsync(context.RequestAborted).ConfigureAwait(false);
        if (!slot.IsAcquired)
        {
            var busy = Busy(context, gate);
            return new Outcome(null, null, busy.ErrorCode, busy.ErrorMessage);
        }
        try
        {
            var (result, view) = gate.Timed(() => PhotoAnalyzer.Analyze(current, Strategies.Create(options.Strategy), photo.Span));
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
