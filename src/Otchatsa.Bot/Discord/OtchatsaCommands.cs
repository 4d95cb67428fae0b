using System.Text.RegularExpressions;
using Otchatsa.Discord.Models;

namespace Otchatsa.Bot.Discord;

/// <summary>The bot's application commands, registered by bulk overwrite at start.</summary>
public static partial class OtchatsaCommands
{
    /// <summary><c>/style name:&lt;style&gt; [image:&lt;photo&gt;]</c>.</summary>
    public const string Style = "style";

    /// <summary><c>/styles</c>: the list of known styles.</summary>
    public const string Styles = "styles";

    /// <summary><c>/help</c> (answered ephemerally).</summary>
    public const string Help = "help";

    /// <summary>The message context-menu command (Apps → Find similar style).</summary>
    public const string FindSimilar = "Find similar style";

    /// <summary>The STRING option of /style.</summary>
    public const string NameOption = "name";

    /// <summary>The ATTACHMENT option of /style.</summary>
    public const string ImageOption = "image";

    /// <summary>Discord allows 25 choices per option.</summary>
    public const int MaxChoices = 25;

    /// <summary>
    /// Builds the command list. <paramref name="styles"/> are the styles the classifier knows (shown name, value
    /// sent back). Global commands also state where they work (servers and the bot's DMs); guild commands may not.
    /// </summary>
    public static IReadOnlyList<ApplicationCommandProperties> Build(IReadOnlyList<ApplicationCommandChoice> styles, bool global)
    {
        ArgumentNullException.ThrowIfNull(styles);
        if (styles.Count is 0 or > MaxChoices)
        {
            throw new ArgumentException($"/style needs 1–{MaxChoices} choices, got {styles.Count}.", nameof(styles));
        }

        foreach (var choice in styles)
        {
            if (choice.Name.Length is 0 or > 100 || choice.Value.Length is 0 or > 100)
            {
                throw new ArgumentException($"Choice '{choice.Value}' must have a 1–100 character name and value.", nameof(styles));
            }
        }

        IReadOnlyList<InteractionContextType>? contexts = global ? [InteractionContextType.Guild, InteractionContextType.BotDm] : null;
        IReadOnlyList<int>? integrationTypes = global ? [0] : null;
        ApplicationCommandProperties[] commands =
        [
            new()
            {
                Name = Style,
                Description = "What a K-Fashion style is and which malls carry it; add a photo to find similar items",
                Options =
                [
                    new ApplicationCommandOption
                    {
                        Type = ApplicationCommandOptionType.String,
                        Name = NameOption,
                        Description = "The style",
                        Required = true,
                        Choices = styles,
                    },
                    new ApplicationCommandOption
                    {
                        Type = ApplicationCommandOptionType.Attachment,
                        Name = ImageOption,
                        Description = "An outfit photo (optional)",
                        Required = false,
                    },
                ],
                Contexts = contexts,
                IntegrationTypes = integrationTypes,
            },
            new()
            {
                Name = Styles,
                Description = "List the styles Otchatsa knows",
                Contexts = contexts,
                IntegrationTypes = integrationTypes,
            },
            new()
            {
                Name = Help,
                Description = "How to use Otchatsa",
                Contexts = contexts,
                IntegrationTypes = integrationTypes,
            },
            new()
            {
                Name = FindSimilar,
                Type = ApplicationCommandType.Message,
                Contexts = contexts,
                IntegrationTypes = integrationTypes,
            },
        ];

        foreach (var command in commands.Where(c => c.Type == ApplicationCommandType.ChatInput))
        {
            if (!SlashName().IsMatch(command.Name))
            {
                throw new InvalidOperationException($"'{command.Name}' is not a valid slash command name.");
            }
        }

        return commands;
    }

    [GeneratedRegex(@"^[-_\p{Ll}\p{N}]{1,32}$")]
    private static partial Regex SlashName();
}
