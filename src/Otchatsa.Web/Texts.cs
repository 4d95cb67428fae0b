using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Otchatsa.Conversation;
using Otchatsa.Styles;

namespace Otchatsa.Web;

/// <summary>Every user-visible sentence of the page, in one language.</summary>
public sealed record Texts
{
    public const string CookieName = "otchatsa.lang";

    public required ChatLanguage Language { get; init; }
    public required string Code { get; init; }
    public required string Tagline { get; init; }
    public required string Intro { get; init; }
    public required string HowItWorks { get; init; }
    public required string UploadTitle { get; init; }
    public required string ChoosePhoto { get; init; }
    public required string TakePhoto { get; init; }
    public required string DropHint { get; init; }
    public required string Submit { get; init; }
    public required string Analysing { get; init; }
    public required string TooBigClient { get; init; }
    public required string WarmingUp { get; init; }
    public required string StylesTitle { get; init; }
    public required string NotRecognised { get; init; }
    public required string NotRecognisedLong { get; init; }
    public required string NoStylesKnown { get; init; }
    public required string ResultTitle { get; init; }
    public required string YourPhoto { get; init; }
    public required string PersonFound { get; init; }
    public required string NoPerson { get; init; }
    public required string StyleHeading { get; init; }
    public required string Confidence { get; init; }
    public required string RunnerUps { get; init; }
    public required string Unsure { get; init; }
    public required string NoStyle { get; init; }
    public required string NotAnOutfit { get; init; }
    public required string SureParent { get; init; }
    public required string ExamplesSeen { get; init; }
    public required string MallsHeading { get; init; }
    public required string MallMatch { get; init; }
    public required string StyleShare { get; init; }
    public required string ItemsHeading { get; init; }
    public required string Similarity { get; init; }
    public required string NoMalls { get; init; }
    public required string TryAnother { get; init; }
    public required string ParentLabel { get; init; }
    public required string SiblingsLabel { get; init; }
    public required string TopMallsLabel { get; init; }
    public required string NoMallsForStyle { get; init; }
    public required string ExamplesLabel { get; init; }
    public required string NoExamples { get; init; }
    public required string CatalogLoading { get; init; }
    public required string BackHome { get; init; }
    public required string ErrorTitle { get; init; }
    public required IReadOnlyDictionary<string, string> Errors { get; init; }
    public required string Footer { get; init; }

    public static Texts En { get; } = new()
    {
        Language = ChatLanguage.En,
        Code = "en",
        Tagline = "What style is this outfit — and where do they sell that vibe?",
        Intro = "Otchatsa (옷찾사, “people who look for clothes”) looks at an outfit photo, names its K-Fashion style, "
            + "picks the three shopping malls whose mood matches it best and shows nine of their products that look most like it.",
        HowItWorks = "It finds the person, crops the outfit, describes it with a neural network and compares it with every "
            + "product photo in the catalog. Your photo is analysed in memory and never stored on disk.",
        UploadTitle = "Try it with a photo",
        ChoosePhoto = "Choose a photo",
        TakePhoto = "Take a photo",
        DropHint = "…or drop a photo here, or paste one (Ctrl+V).",
        Submit = "Find my style",
        Analysing = "Looking at your outfit…",
        TooBigClient = "That photo is larger than 20 MB. Please choose a smaller one.",
        WarmingUp = "The models and the catalog are still loading. Try again in a moment.",
        StylesTitle = "The 23 K-Fashion styles",
        NotRecognised = "not yet recognised",
        NotRecognisedLong = "The current style model cannot recognise this style yet, so photos are never labelled with it.",
        NoStylesKnown = "This catalog has no style labels and no trained style model yet: answers show malls and items by look alone.",
        ResultTitle = "Your outfit",
        YourPhoto = "Your photo",
        PersonFound = "The box shows the person the style was read from.",
        NoPerson = "No person found, so the whole photo was used.",
        StyleHeading = "Style",
        Confidence = "confidence",
        RunnerUps = "Also close",
        Unsure = "Not very sure — the closest styles are listed below.",
        NoStyle = "Couldn't tell the style of this outfit, but here is what looks like it.",
        NotAnOutfit = "This doesn't look like an outfit photo, so no style is named; here are the most similar items anyway.",
        SureParent = "Surely in this family:",
        ExamplesSeen = "photos learnt from",
        MallsHeading = "Three malls for this look",
        MallMatch = "closest look",
        StyleShare = "of its photos in this style",
        ItemsHeading = "Nine similar items",
        Similarity = "similarity",
        NoMalls = "The catalog has no malls to recommend yet.",
        TryAnother = "Try another photo",
        ParentLabel = "Category",
        SiblingsLabel = "Same category",
        TopMallsLabel = "Malls with this mood",
        NoMallsForStyle = "No mall in the catalog carries this style yet.",
        ExamplesLabel = "Example looks",
        NoExamples = "The catalog has no photos of this style yet.",
        CatalogLoading = "The catalog is still loading.",
        BackHome = "Back to the start",
        ErrorTitle = "Something went wrong",
        Errors = new Dictionary<string, string>
        {
            ["empty"] = "No photo arrived, or the file was empty. Please choose a photo.",
            ["not_an_image"] = "That file is not a photo. Please send a JPEG, PNG, WebP or GIF.",
            ["unsupported_format"] = "That photo format (HEIC, AVIF, TIFF, …) isn't supported. Please send a JPEG or PNG — most phones can share one.",
            ["too_large"] = "That photo is too large (over 20 MB or 40 megapixels). Please send a smaller one.",
            ["corrupt"] = "That photo seems damaged or incomplete. Please try another.",
            ["rate_limited"] = "That's a lot of photos in a short time. Please wait a minute and try again.",
            ["unavailable"] = "The models and the catalog are still loading. Try again in a moment.",
            ["busy"] = "Many photos are being analysed right now. Please try again in a few seconds.",
            ["bad_form"] = "The upload form was not what the page expects. Please reload the page and choose the photo again.",
            ["not_found"] = "There is nothing here.",
            ["expired"] = "This result has expired (results are kept for a short time only). Please upload the photo again.",
            ["bad_request"] = "The form was out of date. Please reload the page and try again.",
            ["internal"] = "Something broke on our side. Please try again.",
        },
        Footer = "Otchatsa — K-Fashion style and mall finder. Photos are analysed in memory and kept only briefly.",
    };

    public static Texts Ko { get; } = new()
    {
        Language = ChatLanguage.Ko,
        Code = "ko",
        Tagline = "이 옷은 무슨 스타일일까? 그 느낌의 쇼핑몰은 어디일까?",
        Intro = "옷찾사는 코디 사진을 보고 K-Fashion 스타일을 알려 주고, 그 분위기에 가장 잘 맞는 쇼핑몰 세 곳과 "
            + "사진과 가장 닮은 상품 아홉 개를 보여 줍니다.",
        HowItWorks = "사람을 찾아 옷차림을 잘라 내고, 신경망으로 특징을 뽑아 카탈로그의 모든 상품 사진과 비교합니다. "
            + "올린 사진은 메모리에서만 분석하며 디스크에 저장하지 않습니다.",
        UploadTitle = "사진으로 해 보기",
        ChoosePhoto = "사진 고르기",
        TakePhoto = "사진 찍기",
        DropHint = "…또는 사진을 여기에 끌어다 놓거나 붙여 넣으세요 (Ctrl+V).",
        Submit = "스타일 찾기",
        Analysing = "코디를 살펴보는 중…",
        TooBigClient = "20MB보다 큰 사진입니다. 더 작은 사진을 골라 주세요.",
        WarmingUp = "모델과 카탈로그를 불러오는 중입니다. 잠시 후 다시 시도해 주세요.",
        StylesTitle = "K-Fashion 23가지 스타일",
        NotRecognised = "아직 인식하지 못함",
        NotRecognisedLong = "지금의 스타일 모델은 아직 이 스타일을 알아보지 못해, 사진에 이 스타일을 붙이지 않습니다.",
        NoStylesKnown = "이 카탈로그에는 아직 스타일 라벨도, 학습된 스타일 모델도 없습니다. 생김새만으로 쇼핑몰과 상품을 찾아 드립니다.",
        ResultTitle = "내 코디",
        YourPhoto = "올린 사진",
        PersonFound = "상자는 스타일을 읽은 사람의 위치입니다.",
        NoPerson = "사람을 찾지 못해 사진 전체를 사용했습니다.",
        StyleHeading = "스타일",
        Confidence = "확신도",
        RunnerUps = "비슷한 스타일",
        Unsure = "확신이 높지 않아요. 가까운 스타일을 아래에 함께 보여 드립니다.",
        NoStyle = "이 코디의 스타일은 알아내지 못했지만, 닮은 상품을 찾아 보았어요.",
        NotAnOutfit = "코디 사진이 아닌 것 같아 스타일은 말하지 않을게요. 그래도 가장 닮은 상품을 보여 드려요.",
        SureParent = "이 계열인 것은 확실해요:",
        ExamplesSeen = "학습한 사진",
        MallsHeading = "이 분위기의 쇼핑몰 세 곳",
        MallMatch = "가장 비슷한 상품",
        StyleShare = "의 사진이 이 스타일",
        ItemsHeading = "닮은 상품 아홉 개",
        Similarity = "유사도",
        NoMalls = "카탈로그에 추천할 쇼핑몰이 아직 없습니다.",
        TryAnother = "다른 사진 해 보기",
        ParentLabel = "상위 분류",
        SiblingsLabel = "같은 분류",
        TopMallsLabel = "이 분위기의 쇼핑몰",
        NoMallsForStyle = "카탈로그에 이 스타일의 쇼핑몰이 아직 없습니다.",
        ExamplesLabel = "예시 코디",
        NoExamples = "카탈로그에 이 스타일의 사진이 아직 없습니다.",
        CatalogLoading = "카탈로그를 불러오는 중입니다.",
        BackHome = "처음으로",
        ErrorTitle = "문제가 생겼어요",
        Errors = new Dictionary<string, string>
        {
            ["empty"] = "사진이 오지 않았거나 빈 파일입니다. 사진을 골라 주세요.",
            ["not_an_image"] = "사진 파일이 아닙니다. JPEG, PNG, WebP, GIF를 보내 주세요.",
            ["unsupported_format"] = "지원하지 않는 사진 형식(HEIC, AVIF, TIFF 등)입니다. JPEG나 PNG로 보내 주세요.",
            ["too_large"] = "사진이 너무 큽니다(20MB 또는 4천만 화소 초과). 더 작은 사진을 보내 주세요.",
            ["corrupt"] = "사진이 손상되었거나 일부만 받았습니다. 다른 사진을 보내 주세요.",
            ["rate_limited"] = "짧은 시간에 사진이 너무 많아요. 1분쯤 뒤에 다시 시도해 주세요.",
            ["unavailable"] = "모델과 카탈로그를 불러오는 중입니다. 잠시 후 다시 시도해 주세요.",
            ["busy"] = "지금 많은 사진을 분석하고 있어요. 몇 초 뒤에 다시 시도해 주세요.",
            ["bad_form"] = "업로드 양식이 올바르지 않습니다. 페이지를 새로 고친 뒤 사진을 다시 선택해 주세요.",
            ["not_found"] = "여기에는 아무것도 없습니다.",
            ["expired"] = "결과 보관 시간이 지났습니다. 사진을 다시 올려 주세요.",
            ["bad_request"] = "페이지가 오래되었습니다. 새로 고친 뒤 다시 시도해 주세요.",
            ["internal"] = "서버에서 문제가 생겼습니다. 다시 시도해 주세요.",
        },
        Footer = "옷찾사 — K-Fashion 스타일과 쇼핑몰 찾기. 사진은 메모리에서만 분석하고 잠시만 보관합니다.",
    };

    public static Texts For(ChatLanguage language) => language == ChatLanguage.Ko ? Ko : En;

    public string StyleName(FashionStyle style) => Language == ChatLanguage.Ko ? style.NameKo : style.NameEn;

    /// <summary>The name in the other language, shown beside the main one.</summary>
    public string StyleOtherName(FashionStyle style) => Language == ChatLanguage.Ko ? style.NameEn : style.NameKo;

    public string ParentName(StyleParent parent) => Language == ChatLanguage.Ko ? parent.NameKo : parent.NameEn;

    public string Description(FashionStyle style) => Language == ChatLanguage.Ko ? style.DescriptionKo : style.DescriptionEn;

    public string Error(string code) => Errors.TryGetValue(code, out var text) ? text : Errors["internal"];

    /// <summary>
    /// The request's language: <c>?lang=</c> (remembered in a cookie), else the cookie, else the best of ko/en in
    /// <c>Accept-Language</c>, else English.
    /// </summary>
    public static Texts Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var query = context.Request.Query["lang"].ToString();
        if (Parse(query) is { } chosen)
        {
            context.Response.Cookies.Append(CookieName, chosen == ChatLanguage.Ko ? "ko" : "en", new CookieOptions
            {
                HttpOnly = true,
                SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Lax,
                Secure = context.Request.IsHttps,
                MaxAge = TimeSpan.FromDays(365),
                IsEssential = true,
            });
            return For(chosen);
        }
        if (Parse(context.Request.Cookies[CookieName]) is { } remembered)
        {
            return For(remembered);
        }
        if (StringWithQualityHeaderValue.TryParseList(context.Request.Headers.AcceptLanguage.Select(v => v ?? "").ToArray(), out var accepted))
        {
            foreach (var entry in accepted.OrderByDescending(a => a.Quality ?? 1))
            {
                if (entry.Quality == 0)
                {
                    continue;
                }
                var tag = entry.Value.Value ?? "";
                if (tag.StartsWith("ko", StringComparison.OrdinalIgnoreCase))
                {
                    return Ko;
                }
                if (tag.StartsWith("en", StringComparison.OrdinalIgnoreCase))
                {
                    return En;
                }
            }
        }
        return En;
    }

    private static ChatLanguage? Parse(string? code) => code?.Trim().ToLowerInvariant() switch
    {
        "ko" => ChatLanguage.Ko,
        "en" => ChatLanguage.En,
        _ => null,
    };
}
