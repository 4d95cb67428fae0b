using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Otchatsa.Styles;

/// <summary>One of the 23 K-Fashion styles.</summary>
public sealed record FashionStyle(
    string Id,
    string NameKo,
    string NameEn,
    string Parent,
    string DescriptionKo,
    string DescriptionEn,
    IReadOnlyList<string> Aliases);

/// <summary>A parent category (트래디셔널, 캐주얼, …) grouping sibling styles.</summary>
public sealed record StyleParent(string Id, string NameKo, string NameEn);

/// <summary>
/// The K-Fashion taxonomy: 23 styles under 10 parents. Style values in data may be Korean or the English id; both
/// resolve here. Siblings (same parent) are the seed's fallback when a style has no or too few malls.
/// </summary>
public static class StyleTaxonomy
{
    public static IReadOnlyList<StyleParent> Parents { get; } =
    [
        new("traditional", "트래디셔널", "Traditional"),
        new("mannish", "매니시", "Mannish"),
        new("feminine", "페미닌", "Feminine"),
        new("ethnic", "에스닉", "Ethnic"),
        new("contemporary", "컨템포러리", "Contemporary"),
        new("natural", "내추럴", "Natural"),
        new("genderfluid", "젠더플루이드", "Genderfluid"),
        new("sporty", "스포티", "Sporty"),
        new("subculture", "서브컬처", "Subculture"),
        new("casual", "캐주얼", "Casual"),
    ];

    public static IReadOnlyList<FashionStyle> All { get; } =
    [
        new("classic", "클래식", "Classic", "traditional",
            "테일러드 재킷, 셔츠, 슬랙스처럼 유행을 타지 않는 단정하고 격식 있는 차림.",
            "Timeless, tidy and formal: tailored jackets, shirts, slacks.", []),
        new("preppy", "프레피", "Preppy", "traditional",
            "니트 베스트, 체크 스커트, 로퍼 등 미국 명문 사립학교 학생풍의 단정한 캐주얼.",
            "Ivy-league school look: knit vests, check skirts, loafers.", ["ivy", "아이비"]),
        new("mannish", "매니시", "Mannish", "mannish",
            "남성복의 재단과 소재를 빌린 여유 있는 수트와 셔츠 차림.",
            "Menswear cuts and fabrics worn by women: loose suits and shirts.", []),
        new("tomboy", "톰보이", "Tomboy", "mannish",
            "소년 같은 캐주얼: 헐렁한 데님, 티셔츠, 스니커즈.",
            "Boyish casual: loose denim, tees, sneakers.", []),
        new("feminine", "페미닌", "Feminine", "feminine",
            "부드러운 소재와 곡선으로 여성스러움을 살린 차림.",
            "Soft fabrics and curves that stress a womanly silhouette.", []),
        new("romantic", "로맨틱", "Romantic", "feminine",
            "레이스, 프릴, 플라워 패턴, 파스텔 톤의 사랑스럽고 낭만적인 차림.",
            "Lace, frills, florals and pastels: sweet and dreamy.", ["lovely", "러블리"]),
        new("sexy", "섹시", "Sexy", "feminine",
            "몸의 선을 드러내는 타이트한 실루엣과 노출.",
            "Body-hugging silhouettes that show the figure.", []),
        new("hippie", "히피", "Hippie", "ethnic",
            "1960~70년대 히피풍: 프린지, 페이즐리, 타이다이, 긴 플레어 스커트.",
            "1960s-70s free spirit: fringe, paisley, tie-dye, long flared skirts.", ["boho", "보헤미안", "bohemian"]),
        new("western", "웨스턴", "Western", "ethnic",
            "카우보이풍: 데님, 가죽, 웨스턴 부츠, 프린지 재킷.",
            "Cowboy-inspired: denim, leather, western boots, fringed jackets.", []),
        new("oriental", "오리엔탈", "Oriental", "ethnic",
            "동양 전통 의상의 디테일: 차이나 칼라, 자수, 여밈.",
            "Details from East Asian dress: mandarin collars, embroidery, wrap closures.", []),
        new("modern", "모던", "Modern", "contemporary",
            "군더더기 없는 미니멀한 선과 무채색 중심의 세련된 차림.",
            "Clean minimal lines, mostly monochrome.", ["minimal", "미니멀"]),
        new("sophisticated", "소피스트케이티드", "Sophisticated", "contemporary",
            "도시적이고 지적인 오피스룩: 고급 소재, 절제된 포인트.",
            "Urban, intelligent office wear: fine fabrics, restrained accents.", ["소피스티케이티드"]),
        new("avantgarde", "아방가르드", "Avant-garde", "contemporary",
            "해체적 재단, 과장된 실루엣 등 실험적인 디자인.",
            "Experimental design: deconstructed cuts, exaggerated silhouettes.", ["avant-garde"]),
        new("country", "컨트리", "Country", "natural",
            "전원풍: 체크, 니트, 코듀로이, 자연스러운 소재.",
            "Rural charm: checks, knits, corduroy, natural fabrics.", []),
        new("resort", "리조트", "Resort", "natural",
            "휴양지 차림: 린넨, 밝은 색, 원피스, 샌들.",
            "Holiday wear: linen, bright colours, sundresses, sandals.", ["vacation", "바캉스"]),
        new("genderless", "젠더리스", "Genderless", "genderfluid",
            "성별 구분 없는 오버사이즈 실루엣과 중성적인 색.",
            "No gender cues: oversized silhouettes, neutral colours.", ["unisex", "유니섹스"]),
        new("sporty", "스포티", "Sporty", "sporty",
            "트레이닝복, 후디, 레깅스 등 활동적인 스포츠웨어 차림.",
            "Athletic wear: track suits, hoodies, leggings.", ["athleisure", "애슬레저"]),
        new("retro", "레트로", "Retro", "subculture",
            "지난 시대를 재현한 빈티지풍: 복고 패턴, 하이웨이스트.",
            "Vintage revival: period patterns, high waists.", ["vintage", "빈티지"]),
        new("kitsch", "키치", "Kitsch", "subculture",
            "장난스럽고 과감한 색과 캐릭터, 키덜트 감성.",
            "Playful loud colours and characters; kidult taste.", ["kidult", "키덜트", "키치/키덜트"]),
        new("hiphop", "힙합", "Hip-hop", "subculture",
            "오버사이즈 티, 배기 팬츠, 캡, 스니커즈의 힙합 문화 차림.",
            "Hip-hop culture: oversized tees, baggy pants, caps, sneakers.", ["hip-hop", "hip hop"]),
        new("punk", "펑크", "Punk", "subculture",
            "가죽 재킷, 스터드, 체인, 찢어진 디테일의 반항적 차림.",
            "Rebellious: leather jackets, studs, chains, ripped details.", []),
        new("military", "밀리터리", "Military", "casual",
            "군복에서 온 카키, 카모플라주, 견장, 카고 포켓.",
            "From uniforms: khaki, camouflage, epaulettes, cargo pockets.", ["army"]),
        new("street", "스트리트", "Street", "casual",
            "스케이트·그래피티 문화의 캐주얼: 후디, 로고, 스니커즈.",
            "Skate and graffiti casual: hoodies, logos, sneakers.", ["streetwear"]),
    ];

    private static readonly FrozenDictionary<string, FashionStyle> ByKey = BuildLookup();
    private static readonly FrozenDictionary<string, StyleParent> ParentById = Parents.ToFrozenDictionary(p => p.Id);

    /// <summary>Finds a style by id, Korean or English name, or alias; case, spaces and hyphens are ignored.</summary>
    public static bool TryResolve(string? text, out FashionStyle style)
    {
        style = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        return ByKey.TryGetValue(Normalize(text), out style!);
    }

    /// <summary>Resolves a style value from data; unknown or empty values give null.</summary>
    public static FashionStyle? Resolve(string? text) => TryResolve(text, out var style) ? style : null;

    public static FashionStyle Get(string id) =>
        Resolve(id) ?? throw new KeyNotFoundException($"'{id}' is not one of the 23 K-Fashion styles.");

    public static StyleParent ParentOf(FashionStyle style) => ParentById[style.Parent];

    /// <summary>The other styles under the same parent, in table order (the seed's fallback candidates).</summary>
    public static IReadOnlyList<FashionStyle> SiblingsOf(FashionStyle style) =>
        All.Where(s => s.Parent == style.Parent && s.Id != style.Id).ToArray();

    private static FrozenDictionary<string, FashionStyle> BuildLookup()
    {
        var map = new Dictionary<string, FashionStyle>();
        foreach (var style in All)
        {
            foreach (var key in new[] { style.Id, style.NameKo, style.NameEn }.Concat(style.Aliases))
            {
                map.TryAdd(Normalize(key), style);
            }
        }
        return map.ToFrozenDictionary();
    }

    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var ch in text.Trim().Normalize(NormalizationForm.FormC))
        {
            if (ch is ' ' or '-' or '_' or '/')
            {
                continue;
            }
            builder.Append(char.ToLower(ch, CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}
