using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Otchatsa.Web;

/// <summary>
/// A piece of markup that is already safe. Pages are built only from <see cref="Of"/> interpolations, whose holes are
/// HTML-encoded unless they are themselves <see cref="Html"/>, so catalog titles, file names and mall names can never
/// inject markup.
/// </summary>
public readonly record struct Html(string Value)
{
    /// <summary>Encodes every HTML-significant character (also quotes, so values are safe inside attributes) but keeps Hangul readable.</summary>
    internal static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static Html Empty { get; } = new("");

    /// <summary>Builds markup from an interpolated string; holes are encoded.</summary>
    public static Html Of(HtmlInterpolation markup) => new(markup.ToStringAndClear());

    /// <summary>Markup written by this project's own code, never from data.</summary>
    public static Html Raw(string trustedMarkup) => new(trustedMarkup);

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static Html When(bool condition, Html markup) => condition ? markup : Empty;

    public override string ToString() => Value ?? "";
}

/// <summary>The interpolated string handler behind <see cref="Html.Of"/>.</summary>
[InterpolatedStringHandler]
public ref struct HtmlInterpolation
{
    private readonly StringBuilder _builder;

    public HtmlInterpolation(int literalLength, int formattedCount)
    {
        _builder = new StringBuilder(literalLength + formattedCount * 16);
    }

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted<T>(T value) => AppendFormatted(value, null);

    public readonly void AppendFormatted<T>(T value, string? format)
    {
        switch (value)
        {
            case null:
                return;
            case Html html:
                _builder.Append(html.Value);
                return;
            case IEnumerable<Html> many:
                foreach (var html in many)
                {
                    _builder.Append(html.Value);
                }
                return;
            case IFormattable formattable:
                _builder.Append(Html.Encoder.Encode(formattable.ToString(format, CultureInfo.InvariantCulture)));
                return;
            default:
                _builder.Append(Html.Encoder.Encode(value.ToString() ?? ""));
                return;
        }
    }

    internal readonly string ToStringAndClear()
    {
        var text = _builder.ToString();
        _builder.Clear();
        return text;
    }
}
