using System.Globalization;
using Otchatsa.Catalog;
using Otchatsa.Conversation;
using Otchatsa.Hosting;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Web;

/// <summary>The server-rendered pages. Every value from data passes through <see cref="Html.Of"/>, which encodes it.</summary>
internal static class Pages
{
    public static string Layout(Texts t, string title, Html body, string languagePath)
    {
        var other = t.Language == ChatLanguage.Ko ? Texts.En : Texts.Ko;
        var switchLabel = other.Language == ChatLanguage.Ko ? "한국어" : "English";
        var page = Html.Of($"""
            <!doctype html>
            <html lang="{t.Code}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · 옷찾사 Otchatsa</title>
            <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
            <link rel="stylesheet" href="/assets/app.css">
            <script src="/assets/app.js" defer></script>
            </head>
            <body>
            <header class="top">
            <a class="brand" href="/">옷찾사 <span>Otchatsa</span></a>
            <a class="lang" id="lang-switch" href="{languagePath}?lang={other.Code}" hreflang="{other.Code}" lang="{other.Code}">{switchLabel}</a>
            </header>
            <main>
            {body}
            </main>
            <footer>{t.Footer}</footer>
            </body>
            </html>
            """);
        return page.Value;
    }

    public static Html Home(Texts t, string antiforgeryToken, WebRuntime runtime, long maxBytes)
    {
        var current = runtime.Current;
        var classes = current?.Recommender.Classifier.Classes;
        // With no style known at all, one sentence says so instead of marking all 23 cards.
        var known = classes is { Count: > 0 } ? classes.Select(s => s.Id).ToHashSet() : null;
        var seen = (current?.Recommender.Classifier as IStyleHeadInfo)?.Examples;
        var noneKnown = classes is { Count: 0 }
            ? Html.Of($"""<p class="small" id="no-styles-known">{t.NoStylesKnown}</p>""")
            : Html.Empty;
        var warming = current is null
            ? Html.Of($"""<p class="notice" id="warming">{t.WarmingUp}</p>""")
            : Html.Empty;
        var groups = StyleTaxonomy.Parents.Select(parent => Html.Of($"""
            <section class="parent">
            <h3>{t.ParentName(parent)}</h3>
            <ul class="style-grid">{StyleTaxonomy.All.Where(s => s.Parent == parent.Id).Select(s => StyleCard(t, s, known, seen))}</ul>
            </section>
            """));
        return Html.Of($"""
            <section class="hero">
            <h1>{t.Tagline}</h1>
            <p>{t.Intro}</p>
            <p class="small">{t.HowItWorks}</p>
            </section>
            {warming}
            <section class="upload">
            <h2>{t.UploadTitle}</h2>
            <form id="upload" method="post" action="/recommend" enctype="multipart/form-data" data-max="{maxBytes}">
            <input type="hidden" name="__RequestVerificationToken" value="{antiforgeryToken}">
            <div class="drop" id="drop">
            <label class="button"><input type="file" name="photo" id="photo" accept="image/*">{t.ChoosePhoto}</label>
            <label class="button camera"><input type="file" name="camera" id="camera" accept="image/*" capture="environment">{t.TakePhoto}</label>
            <p class="small">{t.DropHint}</p>
            </div>
            <p class="status" id="status" role="status" aria-live="polite" data-busy="{t.Analysing}" data-too-big="{t.TooBigClient}"></p>
            <noscript><button type="submit">{t.Submit}</button></noscript>
            </form>
            </section>
            <section class="styles">
            <h2>{t.StylesTitle}</h2>
            {noneKnown}
            {groups}
            </section>
            """);
    }

    private static Html StyleCard(Texts t, FashionStyle style, HashSet<string>? known, IReadOnlyDictionary<string, int>? seen)
    {
        var unknown = known is not null && !known.Contains(style.Id);
        var count = seen is not null && seen.TryGetValue(style.Id, out var n) ? Html.Of($"""<span class="small examples-seen">{n} {t.ExamplesSeen}</span>""") : Html.Empty;
        return Html.Of($"""
            <li><a class="style-card{(unknown ? " unknown" : "")}" href="/styles/{style.Id}">
            <strong>{t.StyleName(style)}</strong><span>{t.StyleOtherName(style)}</span>{count}{Html.When(unknown, Html.Of($"<em>{t.NotRecognised}</em>"))}
            </a></li>
            """);
    }

    public static Html Result(Texts t, string id, ResultView view)
    {
        var rec = view.Recommendation;
        var box = view.Box;
        var style = rec.NotAnOutfit
            ? Html.Of($"""<p class="no-style" id="not-an-outfit">{t.NotAnOutfit}</p>""")
            : rec.Style is null
            ? Html.Of($"""<p class="no-style" id="no-style">{t.NoStyle}</p>""")
            : Html.Of($"""
                <p class="style-name" id="style-name"><a href="/styles/{rec.Style.Style.Id}"><strong>{t.StyleName(rec.Style.Style)}</strong> <span>{t.StyleOtherName(rec.Style.Style)}</span></a></p>
                {Meter(t.Confidence, rec.Style.Score)}
                {Html.When(rec.Unsure, Html.Of($"""<p class="small" id="unsure">{t.Unsure}</p>"""))}
                {Html.When(rec.Parent is not null, Html.Of($"""<p class="small" id="sure-parent">{t.SureParent} <strong>{(rec.Parent is null ? "" : t.ParentName(rec.Parent))}</strong></p>"""))}
                """);
        var runnerUps = rec.TopStyles.Skip(1).ToArray();
        var runnerUpList = runnerUps.Length == 0 || rec.Style is null
            ? Html.Empty
            : Html.Of($"""
                <h3>{t.RunnerUps}</h3>
                <ul class="runner-ups">{runnerUps.Select(s => Html.Of($"""<li><a href="/styles/{s.Style.Id}">{t.StyleName(s.Style)}</a>{Meter(t.Confidence, s.Score)}</li>"""))}</ul>
                """);
        var malls = rec.Malls.Count == 0
            ? Html.Of($"""<p class="notice">{t.NoMalls}</p>""")
            : Html.Of($"""
                <ol class="malls" id="malls">{rec.Malls.Select(m => MallLine(t, m))}</ol>
                <h2>{t.ItemsHeading}</h2>
                <div class="items" id="items">{rec.Malls.SelectMany(m => m.Items.Select(i => Item(t, m, i)))}</div>
                """);
        return Html.Of($"""
            <h1>{t.ResultTitle}</h1>
            <div class="result">
            <figure class="photo">
            <svg viewBox="0 0 {view.Width} {view.Height}" role="img" aria-label="{t.YourPhoto}">
            <image href="/r/{id}/photo" x="0" y="0" width="{view.Width}" height="{view.Height}" preserveAspectRatio="none"/>
            {Html.When(view.PersonFound, Html.Of($"""<rect class="person-box" id="person-box" x="{box[0]}" y="{box[1]}" width="{box[2]}" height="{box[3]}"/>"""))}
            </svg>
            <figcaption class="small">{(view.PersonFound ? t.PersonFound : t.NoPerson)}</figcaption>
            </figure>
            <section class="verdict">
            <h2>{t.StyleHeading}</h2>
            {style}
            {runnerUpList}
            </section>
            </div>
            <section>
            <h2>{t.MallsHeading}</h2>
            {malls}
            </section>
            <p><a class="button" id="try-another" href="/">{t.TryAnother}</a></p>
            """);
    }

    private static Html MallLine(Texts t, MallMatch mall)
    {
        var name = SafeLink(mall.Mall.Url, Html.Of($"{mall.Mall.Name}"));
        var share = mall.StyleShare > 0 ? Html.Of($" · {Percent(mall.StyleShare)} {t.StyleShare}") : Html.Empty;
        // The strategy's mall score is a ranking number, not a probability; the closest item's similarity reads as one.
        var closest = mall.Items.Count == 0 ? 0f : mall.Items.Max(i => i.Similarity);
        return Html.Of($"""<li class="mall"><strong>{name}</strong> <span class="small">{t.MallMatch} {Percent(closest)}{share}</span></li>""");
    }

    private static Html Item(Texts t, MallMatch mall, ItemMatch item)
    {
        var label = item.Item.Title ?? mall.Mall.Name;
        var image = Html.Of($"""<img src="/thumbs/{item.Item.Key}" alt="{label}" width="256" height="256">""");
        return Html.Of($"""
            <figure class="item">{SafeLink(item.Item.Url, image)}
            <figcaption><span>{mall.Mall.Name}</span>{Html.When(item.Item.Price is not null, Html.Of($" · {item.Item.Price}"))} <span class="small">{t.Similarity} {Percent(item.Similarity)}</span></figcaption>
            </figure>
            """);
    }

    public static Html Style(Texts t, FashionStyle style, OtchatsaRuntime? runtime)
    {
        var parent = StyleTaxonomy.ParentOf(style);
        var siblings = StyleTaxonomy.SiblingsOf(style);
        var otherDescription = t.Language == ChatLanguage.Ko ? style.DescriptionEn : style.DescriptionKo;
        Html catalog;
        if (runtime is null)
        {
            catalog = Html.Of($"""<p class="notice">{t.CatalogLoading}</p>""");
        }
        else
        {
            var lookup = StyleLookup.For(runtime, style);
            var (known, malls, examples) = (lookup.Recognised, lookup.Malls, lookup.Examples);
            catalog = Html.Of($"""
                {Html.When(!known, Html.Of($"""<p class="notice">{t.NotRecognisedLong}</p>"""))}
                <h2>{t.TopMallsLabel}</h2>
                {(malls.Count == 0 ? Html.Of($"<p>{t.NoMallsForStyle}</p>") : Html.Of($"""<ol class="malls" id="style-malls">{malls.Select(m => Html.Of($"""<li class="mall"><strong>{SafeLink(m.Url, Html.Of($"{m.Name}"))}</strong> <span class="small">{Percent(m.Share(style.Id))} {t.StyleShare}</span></li>"""))}</ol>"""))}
                <h2>{t.ExamplesLabel}</h2>
                {(examples.Count == 0 ? Html.Of($"<p>{t.NoExamples}</p>") : Html.Of($"""<div class="items">{examples.Select(e => Html.Of($"""<figure class="item">{SafeLink(e.Url, Html.Of($"""<img src="/thumbs/{e.Key}" alt="{e.Title ?? e.Mall}" width="256" height="256">"""))}<figcaption>{e.Mall}</figcaption></figure>"""))}</div>"""))}
                """);
        }
        return Html.Of($"""
            <h1>{t.StyleName(style)} <span class="other-name">{t.StyleOtherName(style)}</span></h1>
            <p class="lead">{t.Description(style)}</p>
            <p class="small" lang="{(t.Language == ChatLanguage.Ko ? "en" : "ko")}">{otherDescription}</p>
            <p><strong>{t.ParentLabel}:</strong> {t.ParentName(parent)}</p>
            {Html.When(siblings.Count > 0, Html.Of($"""<p><strong>{t.SiblingsLabel}:</strong> {siblings.Select((s, i) => Html.Of($"""{(i > 0 ? ", " : "")}<a href="/styles/{s.Id}">{t.StyleName(s)}</a>"""))}</p>"""))}
            {catalog}
            <p><a class="button" href="/">{t.BackHome}</a></p>
            """);
    }

    public static Html Error(Texts t, string code, string? detail = null) => Html.Of($"""
        <section class="error" data-code="{code}">
        <h1>{t.ErrorTitle}</h1>
        <p class="lead">{t.Error(code)}</p>
        {Html.When(!string.IsNullOrWhiteSpace(detail), Html.Of($"""<p class="small">{detail}</p>"""))}
        <p class="small">code: <code>{code}</code></p>
        <p><a class="button" href="/">{t.TryAnother}</a></p>
        </section>
        """);

    private static Html Meter(string label, float score) => Html.Of(
        $"""<span class="meter"><meter min="0" max="1" value="{Math.Round(score, 3)}" aria-label="{label}"></meter> {Percent(score)}</span>""");

    internal static string Percent(float value) =>
        Math.Round(value * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>Links only to http(s) URLs from the catalog; anything else (javascript:, data:, relative) renders as text.</summary>
    internal static Html SafeLink(string? url, Html content) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? Html.Of($"""<a href="{uri.AbsoluteUri}" rel="noopener noreferrer nofollow" target="_blank">{content}</a>""")
            : content;
}
