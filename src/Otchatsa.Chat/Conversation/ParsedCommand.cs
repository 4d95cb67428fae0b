namespace Otchatsa.Conversation;

/// <summary>Outcome of reading a message text as a bot command.</summary>
public enum CommandParse
{
    NotACommand,
    ForThisBot,

    /// <summary><c>/cmd@otherbot</c>: must be ignored.</summary>
    ForAnotherBot,
}

/// <summary>A slash command: <see cref="Name"/> in lower case without the slash or <c>@bot</c>, the rest as <see cref="Argument"/>.</summary>
public sealed record ParsedCommand(string Name, string Argument)
{
    public const string Start = "start";
    public const string Help = "help";
    public const string Styles = "styles";
    public const string Style = "style";
    public const string Lang = "lang";

    /// <summary>The commands every front end registers, with their English descriptions.</summary>
    public static IReadOnlyList<(string Name, string Description)> Known { get; } =
    [
        (Style, "Analyse a photo (reply to it) or explain a style: /style romantic"),
        (Styles, "The styles I know, grouped by category"),
        (Lang, "Reply language: /lang ko or /lang en"),
        (Help, "How to use Otchatsa"),
        (Start, "Start"),
    ];

    public bool IsKnown => Known.Any(k => k.Name == Name);

    /// <summary>
    /// Reads <paramref name="text"/> (a message text or photo caption). <c>/style@bot romantic</c> is for this bot only
    /// when the suffix equals <paramref name="botUsername"/> (case-insensitive); a bare <c>/style</c> is for every bot.
    /// </summary>
    public static CommandParse TryParse(string? text, string? botUsername, out ParsedCommand command)
    {
        command = null!;
        var trimmed = text?.TrimStart();
        if (string.IsNullOrEmpty(trimmed) || trimmed[0] != '/' || trimmed.Length < 2)
        {
            return CommandParse.NotACommand;
        }
        var end = 1;
        while (end < trimmed.Length && !char.IsWhiteSpace(trimmed[end]))
        {
            end++;
        }
        var head = trimmed[1..end];
        var argument = trimmed[end..].Trim();
        var at = head.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            var target = head[(at + 1)..];
            head = head[..at];
            if (botUsername is null || !string.Equals(target, botUsername.TrimStart('@'), StringComparison.OrdinalIgnoreCase))
            {
                return CommandParse.ForAnotherBot;
            }
        }
        if (head.Length == 0 || !head.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return CommandParse.NotACommand;
        }
        command = new ParsedCommand(head.ToLowerInvariant(), argument);
        return CommandParse.ForThisBot;
    }
}
