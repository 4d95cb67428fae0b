using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;

namespace Otchatsa.Discord.Messages;

/// <summary>A message from a human, with what the bot needs to decide whether and how to answer it.</summary>
public sealed class DiscordMessageContext
{
    private readonly DiscordRestClient _rest;
    private readonly AttachmentDownloader _downloader;
    private readonly DiscordClientOptions _options;

    internal DiscordMessageContext(
        DiscordMessage message, string botUserId, DiscordRestClient rest, AttachmentDownloader downloader,
        DiscordClientOptions options)
    {
        Message = message;
        BotUserId = botUserId;
        _rest = rest;
        _downloader = downloader;
        _options = options;
    }

    /// <summary>The message.</summary>
    public DiscordMessage Message { get; }

    /// <summary>The bot's own user id.</summary>
    public string BotUserId { get; }

    /// <summary>A DM to the bot.</summary>
    public bool IsDirectMessage => Message.IsDirectMessage;

    /// <summary>The bot is @mentioned, or the message replies to the bot.</summary>
    public bool AddressesBot =>
        Message.MentionsUser(BotUserId) || Message.ReferencedMessage?.Author.Id == BotUserId;

    /// <summary>Attachments that look like images (the download sniffs for real).</summary>
    public IReadOnlyList<DiscordAttachment> ImageAttachments => Message.Attachments.Where(a => a.LooksLikeImage).ToArray();

    /// <summary>Downloads an attachment with the allow-list, size cap and sniffing.</summary>
    public Task<DownloadedImage> DownloadAsync(DiscordAttachment attachment, CancellationToken cancellationToken) =>
        _downloader.DownloadImageAsync(attachment, cancellationToken);

    /// <summary>Replies in the channel, referencing the message and pinging nobody.</summary>
    public Task<DiscordMessage> ReplyAsync(DiscordReply reply, CancellationToken cancellationToken)
    {
        var composed = ReplyComposer.Compose(reply with { Ephemeral = false }, _options.ReplyLayout);
        return _rest.CreateMessageAsync(Message.ChannelId, ReplyComposer.AsReplyTo(composed.Message, Message),
            composed.Files, cancellationToken);
    }
}

/// <summary>Answers messages (DMs, @mentions). Bot authors are filtered out before this is called.</summary>
public interface IDiscordMessageHandler
{
    /// <summary>Handles one message; decides itself whether it is addressed to the bot.</summary>
    Task HandleMessageAsync(DiscordMessageContext context, CancellationToken cancellationToken);
}
