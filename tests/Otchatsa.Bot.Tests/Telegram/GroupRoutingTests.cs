using Otchatsa.Bot.Telegram;
using Otchatsa.Conversation;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types;

namespace Otchatsa.Tests.Telegram;

public sealed class GroupRoutingTests
{
    private static MessageEntity[]? Mentions(string? text) => text is null
        ? null
        : System.Text.RegularExpressions.Regex.Matches(text, @"@\w+")
            .Select(m => new MessageEntity { Type = MessageEntityType.Mention, Offset = m.Index, Length = m.Length })
            .ToArray();

    [Fact]
    public void Group_routing_acts_only_when_addressed()
    {
        var me = new TelegramBotIdentity(42, "otchatsa_bot");
        Message Msg(ChatType type, string? text = null, bool photo = false, Message? replyTo = null) => new()
        {
            Id = 1,
            Chat = new Chat { Id = -5, Type = type },
            From = new User { Id = 9, FirstName = "u" },
            Text = photo ? null : text,
            Caption = photo ? text : null,
            Entities = photo ? null : Mentions(text),
            CaptionEntities = photo ? Mentions(text) : null,
            Photo = photo ? [new PhotoSize { FileId = "f", FileUniqueId = "f", Width = 1, Height = 1, FileSize = 10 }] : null,
            ReplyToMessage = replyTo,
        };
        TelegramAction? Route(Message m) => TelegramUpdateRouter.Route(new Update { Id = 1, Message = m }, me, 20 << 20)?.Action;
        var botMessage = new Message { Id = 2, Chat = new Chat { Id = -5, Type = ChatType.Group }, From = new User { Id = 42, IsBot = true, FirstName = "b" } };

        Assert.Null(Route(Msg(ChatType.Group, photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "look", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "/style@other", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "/unknown")));
        Assert.Null(Route(Msg(ChatType.Channel, "/style", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "/style", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "hey @otchatsa_bot", photo: true)));
        Assert.Null(Route(Msg(ChatType.Group, "hey @otchatsa_bot2", photo: true)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, photo: true, replyTo: botMessage)));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Group, "/style", replyTo: Msg(ChatType.Group, photo: true))));
        Assert.Equal(TelegramAction.Command, Route(Msg(ChatType.Supergroup, "/style@otchatsa_bot romantic")));
        Assert.Equal(TelegramAction.AnalyzePhoto, Route(Msg(ChatType.Private, photo: true)));
        Assert.Equal(TelegramAction.Text, Route(Msg(ChatType.Private, "hi")));
    }
}
