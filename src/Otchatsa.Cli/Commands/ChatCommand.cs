using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Conversation;
using Otchatsa.Hosting;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa chat</c>: a console stand-in for a chat. Each line is an image path or a command (<c>/style romantic</c>);
/// the answers come from the same conversation core as the bots, printed as text.
/// </summary>
internal sealed class ConsoleChatCommand : Command<ConsoleChatCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")]
        [Description(SharedSettings.IndexHelp)]
        public string Index { get; init; } = "";

        [CommandOption("--models <DIR>")]
        [Description(SharedSettings.ModelsHelp)]
        public string? Models { get; init; }

        [CommandOption("--lang <LANG>")]
        [Description("Reply language: en (default) or ko.")]
        public string Lang { get; init; } = "en";

        [CommandOption("--save <DIR>")]
        [Description("Also write the reply images (items, collages) into this folder.")]
        public string? Save { get; init; }

        public override Spectre.Console.ValidationResult Validate() =>
            SharedSettings.Required(("--index", Index)).ErrorIf(!ChatLanguages.TryParse(Lang, out _), "--lang must be en or ko.");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var runtime = OtchatsaRuntime.Open(settings.Index, settings.Models);
        var preferences = new InMemoryChatPreferences();
        var chat = new ChatKey("console", "1");
        ChatLanguages.TryParse(settings.Lang, out var lang);
        preferences.SetLanguage(chat, lang);
        var session = new ConsoleChat(new OtchatsaConversation(runtime, preferences), chat, Console.Out, settings.Save);
        Console.Error.WriteLine("otchatsa chat: type an image path or a command (/help, /styles, /style romantic, /lang ko); empty line or Ctrl-D quits.");
        while (!cancellationToken.IsCancellationRequested)
        {
            Console.Error.Write("> ");
            var line = Console.In.ReadLine();
            if (string.IsNullOrWhiteSpace(line))
            {
                break;
            }
            session.Say(line);
        }
        return 0;
    }
}

/// <summary>One console conversation: reads what a user typed, prints what the bot would answer.</summary>
internal sealed class ConsoleChat(OtchatsaConversation conversation, ChatKey chat, TextWriter output, string? saveDirectory)
{
    private int _turn;

    public void Say(string line)
    {
        var reply = Answer(line.Trim());
        Print(reply);
    }

    private ChatReply Answer(string line)
    {
        var lang = conversation.LanguageFor(chat, null);
        var context = new ChatContext(chat, lang, saveDirectory is null ? ReplyLayout.Album : ReplyLayout.Collage);
        switch (ParsedCommand.TryParse(line, null, out var command))
        {
            case CommandParse.ForThisBot:
                return conversation.AnswerCommand(command, context);
            case CommandParse.ForAnotherBot:
                return conversation.AnswerText(context);
        }
        var path = line.Trim('"', '\'');
        try
        {
            return conversation.AnswerPhoto(PhotoFiles.Read(path, conversation.Runtime.Engine.Limits), context);
        }
        catch (ImageRejectedException ex)
        {
            return conversation.Problem(ex.Code == ImageErrorCode.TooLarge ? PhotoProblem.TooLarge : PhotoProblem.NotAnImage, lang);
        }
        catch (PhotoFileException ex)
        {
            return ChatReply.Plain(ReplyKind.Problem, $"{path}: {ex.Message}", ex.Code);
        }
    }

    private void Print(ChatReply reply)
    {
        _turn++;
        output.WriteLine(reply.Text);
        foreach (var link in reply.Links)
        {
            output.WriteLine($"  [{link.Label}] {link.Url}");
        }
        for (var i = 0; i < reply.Images.Count; i++)
        {
            output.WriteLine($"  item {i + 1}: {reply.Images[i].Caption?.ReplaceLineEndings(" ")}");
        }
        if (saveDirectory is not null)
        {
            Directory.CreateDirectory(saveDirectory);
            foreach (var image in reply.Images.Append(reply.Collage).OfType<ChatImage>())
            {
                var file = Path.Combine(saveDirectory, $"{_turn:D3}-{image.FileName}");
                File.WriteAllBytes(file, image.Bytes);
                output.WriteLine($"  saved {file}");
            }
        }
        else if (reply.Collage is not null)
        {
            output.WriteLine("  (a collage of example items; use --save <dir> to write it)");
        }
        output.WriteLine();
        output.Flush();
    }
}
