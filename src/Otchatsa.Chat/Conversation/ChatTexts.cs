using System.Globalization;
using Otchatsa.Styles;

namespace Otchatsa.Conversation;

/// <summary>Every sentence the bot says, in Korean and English. Plain text: front ends add no markup.</summary>
internal static class ChatTexts
{
    public static string Name(FashionStyle style, ChatLanguage lang) =>
        lang == ChatLanguage.Ko ? $"{style.NameKo} ({style.NameEn})" : $"{style.NameEn} ({style.NameKo})";

    public static string Short(FashionStyle style, ChatLanguage lang) => lang == ChatLanguage.Ko ? style.NameKo : style.NameEn;

    public static string Parent(StyleParent parent, ChatLanguage lang) =>
        lang == ChatLanguage.Ko ? $"{parent.NameKo} ({parent.NameEn})" : $"{parent.NameEn} ({parent.NameKo})";

    public static string Percent(float value) => (value * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    public static string Help(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? """
          옷찾사(Otchatsa): 코디 사진을 보내 주세요. 스타일(K-Fashion 23종), 어울리는 쇼핑몰 세 곳, 비슷한 상품 아홉 개를 찾아 드려요.

          /style 로맨틱 — 스타일 설명, 대표 쇼핑몰, 예시 상품
          /style — 사진에 답장으로 보내면 그 사진을 분석해요
          /styles — 알고 있는 스타일 목록
          /lang ko|en — 답변 언어

          그룹에서는 사진에 /style 또는 저를 @멘션해 주세요. 말을 걸지 않은 사진에는 답하지 않아요.
          """
        : """
          Otchatsa: send me an outfit photo and I'll tell you its style (one of the 23 K-Fashion styles), three malls with that vibe and nine similar items.

          /style romantic — what a style is, its malls, example items
          /style — as a reply to a photo: analyse that photo
          /styles — the styles I know
          /lang ko|en — reply language

          In groups, caption a photo with /style or mention me; I never answer photos nobody addressed to me.
          """;

    public static string Greeting(ChatLanguage lang) => lang == ChatLanguage.Ko ? "안녕하세요! 👋" : "Hi! 👋";

    public static string NoPerson(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "사진에서 사람을 찾지 못해 사진 전체를 보고 골랐어요."
        : "I couldn't find a person in the photo, so I looked at the whole picture.";

    public static string StyleLine(FashionStyle style, float score, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"스타일: {Name(style, lang)} · 확신도 {Percent(score)}"
        : $"Style: {Name(style, lang)} · {Percent(score)} sure";

    public static string RunnerUps(string list, ChatLanguage lang) => lang == ChatLanguage.Ko ? $"다른 후보: {list}" : $"Runner-ups: {list}";

    public static string Unsure(string list, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"확실하지는 않아요. {list} 스타일일 수도 있어요."
        : $"I'm not sure about this one; it could also be {list}.";

    public static string NotAnOutfit(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "코디 사진이 아닌 것 같아요. 그래도 카탈로그에서 가장 닮은 상품을 골랐어요."
        : "This doesn't look like an outfit photo, but here are the most similar items in the catalog.";

    public static string UnsureCandidates(string list, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"스타일은 확실하지 않아요. 후보: {list}"
        : $"I'm not sure of the style. Candidates: {list}";

    public static string SureParent(StyleParent parent, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"{Parent(parent, lang)} 계열인 것은 확실해요."
        : $"It is surely {Parent(parent, lang)}.";

    public static string WithExamples(FashionStyle style, int examples, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"{Name(style, lang)} {examples}장"
        : $"{Name(style, lang)} {examples}";

    public static string ExamplesNote(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "숫자: 모델이 학습한 사진 수"
        : "Numbers: photos the model learnt each style from";

    public static string NoStyle(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "이 코디의 스타일은 알아내지 못했어요. 그래도 가장 비슷한 상품을 골랐어요."
        : "I couldn't tell the style of this outfit, but here are the most similar items.";

    public static string MallsHeader(ChatLanguage lang) => lang == ChatLanguage.Ko ? "이 분위기의 쇼핑몰:" : "Malls with this vibe:";

    public static string NoMalls(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "카탈로그에서 어울리는 쇼핑몰을 찾지 못했어요."
        : "I found no matching malls in the catalog.";

    public static string MallReason(FashionStyle? style, float share, float similarity, ChatLanguage lang)
    {
        var sim = lang == ChatLanguage.Ko ? $"상품 유사도 {Percent(similarity)}" : $"items {Percent(similarity)} similar";
        if (style is null || share <= 0)
        {
            return sim;
        }
        return lang == ChatLanguage.Ko
            ? $"{Short(style, lang)} 스타일 비중 {Percent(share)} · {sim}"
            : $"{Percent(share)} of its looks are {Short(style, lang)} · {sim}";
    }

    public static string Problem(PhotoProblem problem, ChatLanguage lang, long maxMegabytes) => (problem, lang) switch
    {
        (PhotoProblem.NotAnImage, ChatLanguage.Ko) => "이미지가 아닌 것 같아요. 코디 사진(JPEG, PNG, WebP)을 보내 주세요.",
        (PhotoProblem.NotAnImage, _) => "That doesn't look like an image. Please send an outfit photo (JPEG, PNG or WebP).",
        (PhotoProblem.TooLarge, ChatLanguage.Ko) => $"사진이 너무 커요 ({maxMegabytes} MB 이하만 받을 수 있어요). 더 작은 사진을 보내 주세요.",
        (PhotoProblem.TooLarge, _) => $"That photo is too large (the limit is {maxMegabytes} MB). Please send a smaller one.",
        (PhotoProblem.Unreadable, ChatLanguage.Ko) => "사진을 읽을 수 없었어요. 파일이 손상된 것 같아요. 다른 사진을 보내 주세요.",
        (PhotoProblem.Unreadable, _) => "I couldn't read that photo; the file seems damaged. Please try another one.",
        (PhotoProblem.DownloadFailed, ChatLanguage.Ko) => "사진을 내려받지 못했어요. 잠시 후 다시 보내 주세요.",
        (PhotoProblem.DownloadFailed, _) => "I couldn't download that photo. Please send it again in a moment.",
        (_, ChatLanguage.Ko) => "죄송해요, 이 사진은 분석하지 못했어요. 다른 사진으로 다시 시도해 주세요.",
        _ => "Sorry, something went wrong with that photo. Please try another one.",
    };

    public static string Busy(int seconds, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"지금은 요청이 많아요. {seconds}초 뒤에 다시 보내 주세요."
        : $"I'm busy right now; please try again in {seconds} s.";

    public static string UnknownStyle(string name, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"'{name}' 스타일은 모르겠어요. /styles 로 목록을 볼 수 있어요."
        : $"I don't know a style called '{name}'. /styles lists them.";

    public static string StyleUsage(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "사용법: /style 로맨틱 (스타일 설명) — 또는 사진에 답장으로 /style (사진 분석)."
        : "Usage: /style romantic (explain a style), or reply /style to a photo (analyse it).";

    public static string Aliases(string list, ChatLanguage lang) => lang == ChatLanguage.Ko ? $"다른 이름: {list}" : $"Also called: {list}";

    public static string StyleMalls(ChatLanguage lang) => lang == ChatLanguage.Ko ? "이 스타일을 파는 쇼핑몰:" : "Malls that carry it:";

    public static string StyleMallLine(string mall, float share, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"{mall} (상품의 {Percent(share)})"
        : $"{mall} ({Percent(share)} of its items)";

    public static string NoStyleMalls(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "이 카탈로그에는 아직 이 스타일의 쇼핑몰이 없어요."
        : "No mall in this catalog carries it yet.";

    public static string NotRecognised(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "참고: 지금 모델은 사진에서 이 스타일을 알아보지 못해요."
        : "Note: the current model cannot recognise this style in photos.";

    public static string KnownStylesHeader(int known, int total, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"제가 알아보는 스타일 ({known}/{total}):"
        : $"Styles I can recognise ({known} of {total}):";

    public static string NoKnownStyles(int total, ChatLanguage lang) => lang == ChatLanguage.Ko
        ? $"지금 카탈로그로는 사진의 스타일을 알아볼 수 없어요 (스타일 표시가 없어요). K-Fashion의 {total}가지 스타일:"
        : $"With this catalog I can't recognise styles in photos yet (it has no style labels). The {total} K-Fashion styles:";

    public static string StylesFooter(ChatLanguage lang) => lang == ChatLanguage.Ko ? "자세히: /style 로맨틱" : "More: /style romantic";

    public static string LanguageSet(ChatLanguage lang) => lang == ChatLanguage.Ko ? "이제 한국어로 답할게요." : "I'll answer in English from now on.";

    public static string LanguageUsage(ChatLanguage current) => current == ChatLanguage.Ko
        ? "지금 언어: 한국어. 바꾸려면 /lang en 또는 /lang ko."
        : "Current language: English. Change it with /lang ko or /lang en.";

    public static string UnknownCommand(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "모르는 명령이에요. /help 를 보내 보세요."
        : "I don't know that command. Try /help.";

    public static string SendPhoto(ChatLanguage lang) => lang == ChatLanguage.Ko
        ? "코디 사진을 보내 주세요. 도움말: /help"
        : "Send me an outfit photo. Help: /help";
}
