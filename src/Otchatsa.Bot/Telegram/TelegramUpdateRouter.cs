using Otchatsa.Conversation;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Otchatsa.Bot.Telegram;

/// <summary>The bot's own account, from <c>getMe</c>.</summary>
public sealed record TelegramBotIdentity(long Id, string Username);

/// <summary>
/// Decides what an update asks for — or that it must be ignored. Private chats: every photo, image file, command and
/// text. Groups: only what is addressed to the bot (a photo captioned <c>/style</c> or <c>@bot</c>, a photo replying to
/// the bot, <c>/style</c> replying to a photo, commands without a suffix or with ours); never commands for other bots.
/// </summary>
public static class TelegramUpdateRouter
{
    public static TelegramRequest? Route(Update update, TelegramBotIdentity me, long maxPhotoBytes)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(me);
        if (update.Message is not { From: { IsBot: false } from } message)
        {
            return null;
        }
        var isGroup = message.Chat.Type is ChatType.Group or ChatType.Supergroup;
        if (!isGroup && message.Chat.Type != ChatType.Private)
        {
            return null;
        }
        var request = new TelegramRequest(TelegramAction.Text, message.Chat.Id, from.Id, message.Id, isGroup, from.LanguageCode);
        var parse = ParsedCommand.TryParse(message.Text ?? message.Caption, me.Username, out var command);
        if (parse == CommandParse.ForAnotherBot)
        {
            return null;
        }
        var isCommand = parse == CommandParse.ForThisBot;
        var own = Attachment(message);

        if (!isGroup)
        {
            if (own is not null)
            {
                return Photo(request, own.Value, maxPhotoBytes);
            }
            if (message.Document is not null)
            {
                return request with { Action = TelegramAction.NotAnImage };
            }
            if (isCommand)
            {
                return CommandOrRepliedPhoto(request, command, message, maxPhotoBytes);
            }
            return request;
        }

        var mentioned = Mentions(message, me.Username);
        var repliesToBot = message.ReplyToMessage?.From?.Id == me.Id;
        if (own is not null || message.Document is not null)
        {
            var addressed = (isCommand && command.Name == ParsedCommand.Style) || mentioned || repliesToBot;
            if (!addressed)
            {
                return null;
            }
            return own is { } photo ? Photo(request, photo, maxPhotoBytes) : request with { Action = TelegramAction.NotAnImage };
        }
        if (isCommand && command.IsKnown)
        {
            return CommandOrRepliedPhoto(request, command, message, maxPhotoBytes);
        }
        return null;
    }

    /// <summary><c>/style</c> with no argument as a reply to a photo analyses that photo.</summary>
    private static TelegramRequest CommandOrRepliedPhoto(TelegramRequest request, ParsedCommand command, Message message, long maxPhotoBytes)
    {
        if (command.Name == ParsedCommand.Style && command.Argument.Length == 0 && message.ReplyToMessage is { } replied)
        {
            if (Attachment(replied) is { } photo)
            {
                return Photo(request, photo, maxPhotoBytes);
            }
            if (replied.Document is not null)
            {
                return request with { Action = TelegramAction.NotAnImage };
            }
        }
        return request with { Action = TelegramAction.Command, CommandName = command.Name, CommandArgument = command.Argument };
    }

    private static TelegramRequest Photo(TelegramRequest request, (string FileId, long? Size) photo, long maxPhotoBytes) =>
        photo.Size > maxPhotoBytes
            ? request with { Action = TelegramAction.TooLarge, FileSize = photo.Size }
            : request with { Action = TelegramAction.AnalyzePhoto, FileId = photo.FileId, FileSize = photo.Size };

    /// <summary>The largest size of a photo, or a document whose MIME type is an image.</summary>
    private static (string FileId, long? Size)? Attachment(Message message)
    {
        if (message.Photo is { Length: > 0 } sizes)
        {
            var largest = sizes.MaxBy(s => (long)s.Width * s.Height)!;
            return (largest.FileId, largest.FileSize);
        }
        if (message.Document is { } doc && doc.MimeType?.StartsWith("image/", StringComparison.OrdinalIgnoreCase) == true)
        {
            return (doc.FileId, doc.FileSize);
        }
        return null;
    }

    // Telegram marks @mentions as entities; a plain substring test would also match @otchatsa_bot2.
    private static bool Mentions(Message message, string username)
    {
        var text = message.Text ?? message.Caption;
        var entities = message.Text is not null ? message.Entities : message.CaptionEntities;
        if (text is null || entities is null)
        {
            return false;
        }
        return entities.Any(e => e.Type == MessageEntityType.Mention
                                 && e.Offset >= 0 && e.Offset + e.Length <= text.Length
                                 && string.Equals(text.Substring(e.Offset, e.Length), "@" + username, StringComparison.OrdinalIgnoreCase));
    }
}
