using Otchatsa.Discord.Models;

namespace Otchatsa.Discord.Tests;

/// <summary>
/// The commands the client tests register: one slash command with a string choice and an attachment option, two
/// plain slash commands and a message command — the shapes the app uses, without the app (its own commands are tested
/// with the worker).
/// </summary>
internal static class TestCommands
{
    public const string Style = "style";
    public const string Styles = "styles";
    public const string Help = "help";
    public const string FindSimilar = "Find similar style";
    public const string NameOption = "name";
    public const string ImageOption = "image";

    public static IReadOnlyList<ApplicationCommandProperties> Build(IReadOnlyList<ApplicationCommandChoice> styles) =>
    [
        new()
        {
            Name = Style,
            Description = "A style",
            Options =
            [
                new ApplicationCommandOption { Type = ApplicationCommandOptionType.String, Name = NameOption, Description = "The style", Required = true, Choices = styles },
                new ApplicationCommandOption { Type = ApplicationCommandOptionType.Attachment, Name = ImageOption, Description = "A photo", Required = false },
            ],
        },
        new() { Name = Styles, Description = "The styles" },
        new() { Name = Help, Description = "Help" },
        new() { Name = FindSimilar, Type = ApplicationCommandType.Message },
    ];
}
