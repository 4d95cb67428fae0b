using System.Text;
using SkiaSharp;

namespace Otchatsa.Imaging;

/// <summary>
/// Typeface selection for captions. The Linux NoDependencies Skia build has no fontconfig, so
/// <see cref="SKTypeface.Default"/> may be an empty face; then known font files are tried. Characters no usable font
/// covers are dropped rather than drawn as tofu boxes.
/// </summary>
public sealed class CollageFonts
{
    public static IReadOnlyList<string> WellKnownFontFiles { get; } =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/System/Library/Fonts/Helvetica.ttc",
        "C:\\Windows\\Fonts\\arial.ttf",
        // Hangul-capable fallbacks.
        "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/System/Library/Fonts/AppleSDGothicNeo.ttc",
        "C:\\Windows\\Fonts\\malgun.ttf",
    ];

    private static readonly Lock CacheLock = new();
    private static readonly Dictionary<string, CollageFonts> Cache = new(StringComparer.Ordinal);

    private CollageFonts(SKTypeface? primary, IReadOnlyList<SKTypeface> fallbacks)
    {
        Primary = primary;
        Fallbacks = fallbacks;
    }

    /// <summary>A face with Latin glyphs, or null when none exists on this machine.</summary>
    public SKTypeface? Primary { get; }

    public IReadOnlyList<SKTypeface> Fallbacks { get; }

    public static CollageFonts Resolve(IReadOnlyList<string> fontFiles)
    {
        // Typefaces are immutable and shared process-wide; loading font files per collage would be wasteful.
        string key = string.Join('\n', fontFiles);
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(key, out var fonts))
            {
                fonts = Load(fontFiles);
                Cache[key] = fonts;
            }

            return fonts;
        }
    }

    /// <summary>
    /// The face that renders <paramref name="text"/> completely, else the primary face with the characters it
    /// lacks removed.
    /// </summary>
    public (SKTypeface? Face, string Text) Pick(string text)
    {
        if (Primary is null)
        {
            return (null, "");
        }

        if (Covers(Primary, text))
        {
            return (Primary, text);
        }

        foreach (var face in Fallbacks)
        {
            if (Covers(face, text))
            {
                return (face, text);
            }
        }

        var kept = new StringBuilder(text.Length);
        using var font = new SKFont(Primary);
        foreach (Rune rune in text.EnumerateRunes())
        {
            if (font.ContainsGlyph(rune.Value))
            {
                kept.Append(rune.ToString());
            }
        }

        // Dropping a word leaves doubled spaces or a dangling separator; tidy them.
        string cleaned = string.Join(' ', kept.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)).Trim(' ', '·', '-', '|', '/');
        return (Primary, cleaned);
    }

    private static CollageFonts Load(IReadOnlyList<string> fontFiles)
    {
        const string probe = "Ag0";
        var faces = new List<SKTypeface>();
        if (HasGlyphs(SKTypeface.Default, probe))
        {
            faces.Add(SKTypeface.Default);
        }

        foreach (string path in fontFiles)
        {
            if (!File.Exists(path))
            {
                continue;
            }

            var face = SKTypeface.FromFile(path);
            if (face is not null && face.GlyphCount > 0)
            {
                faces.Add(face);
            }
        }

        var primary = faces.FirstOrDefault(f => HasGlyphs(f, probe));
        return new CollageFonts(primary, faces.Where(f => !ReferenceEquals(f, primary)).ToList());
    }

    private static bool HasGlyphs(SKTypeface? face, string text) => face is not null && face.GlyphCount > 0 && Covers(face, text);

    private static bool Covers(SKTypeface face, string text)
    {
        using var font = new SKFont(face);
        return font.ContainsGlyphs(text);
    }
}
