using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Otchatsa.Pipeline;

namespace Otchatsa.Web;

/// <summary>Error codes the web adds to the CLI's (<c>empty</c>, <c>not_an_image</c>, <c>unsupported_format</c>, <c>too_large</c>, <c>corrupt</c>).</summary>
public static class WebErrorCodes
{
    /// <summary>429: too many requests from this client (with <c>Retry-After</c>).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>503: every analysis slot and waiting place is taken (with <c>Retry-After</c>); decided before the body is read.</summary>
    public const string Busy = "busy";

    /// <summary>400: a form the page cannot use (too many parts, an overlong field, malformed part headers).</summary>
    public const string BadForm = "bad_form";

    /// <summary>503: models and index not loaded (yet; with <c>Retry-After</c> while loading).</summary>
    public const string Unavailable = "unavailable";

    /// <summary>404: no such route, style, thumbnail or result.</summary>
    public const string NotFound = "not_found";

    /// <summary>410 on pages: a result id that has expired.</summary>
    public const string Expired = "expired";

    /// <summary>400: a malformed request (e.g. the form's antiforgery token is missing or stale).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>500: an unexpected failure; details are only logged.</summary>
    public const string Internal = "internal";

    /// <summary>HTTP status for an error code.</summary>
    public static int StatusOf(string code) => code switch
    {
        "too_large" => StatusCodes.Status413PayloadTooLarge,
        "unsupported_format" => StatusCodes.Status415UnsupportedMediaType,
        RateLimited => StatusCodes.Status429TooManyRequests,
        Unavailable or Busy => StatusCodes.Status503ServiceUnavailable,
        NotFound => StatusCodes.Status404NotFound,
        Expired => StatusCodes.Status410Gone,
        Internal => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };
}

/// <summary>Writes responses: the CLI's JSON object for the API, or pages.</summary>
internal static class Respond
{
    public const string JsonType = "application/json; charset=utf-8";
    public const string HtmlType = "text/html; charset=utf-8";

    public static bool WantsJson(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        || context.Request.Path.StartsWithSegments("/healthz", StringComparison.OrdinalIgnoreCase)
        || context.Request.Path.StartsWithSegments("/thumbs", StringComparison.OrdinalIgnoreCase);

    /// <summary>The CLI contract's failure object (<c>"ok":false</c>, other fields null) with the code's HTTP status.</summary>
    public static IResult JsonFailure(string image, string code, string message) =>
        Results.Text(RecommendJson.Failure(image, code, message).ToJsonLine(), JsonType, Encoding.UTF8, WebErrorCodes.StatusOf(code));

    public static IResult Json(object value, int status = StatusCodes.Status200OK) =>
        Results.Text(JsonSerializer.Serialize(value, RecommendJson.Options), JsonType, Encoding.UTF8, status);

    public static IResult Page(HttpContext context, Texts t, string title, Html body, string languagePath, int status = StatusCodes.Status200OK)
    {
        context.Response.Headers.CacheControl = "no-store";
        return Results.Text(Pages.Layout(t, title, body, languagePath), HtmlType, Encoding.UTF8, status);
    }

    public static IResult ErrorPage(HttpContext context, string code, string? detail = null)
    {
        var t = Texts.Resolve(context);
        return Page(context, t, t.ErrorTitle, Pages.Error(t, code, detail), "/", WebErrorCodes.StatusOf(code));
    }

    /// <summary>An error as JSON or as a page, whichever the request path calls for.</summary>
    public static IResult Error(HttpContext context, string code, string message) =>
        WantsJson(context) ? JsonFailure("", code, message) : ErrorPage(context, code);
}
