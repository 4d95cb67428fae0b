using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord;

namespace Otchatsa.Bot.Discord;

/// <summary>
/// Answers one stored Discord job: downloads the photo (allow-listed hosts, size cap, sniffing), asks the
/// conversation core, and sends one reply — for a message, a reply referencing it that pings nobody; for an
/// interaction, PATCH @original (through the live context while its handler waits, directly after a restart).
/// </summary>
public sealed partial class DiscordJobHandler(
    DiscordRestClient rest,
    AttachmentDownloader downloader,
    DiscordClientOptions options,
    OtchatsaConversation conversation,
    DiscordLiveInteractions live,
    TimeProvider time,
    ILogger<DiscordJobHandler> logger) : IChatJobHandler
{
    public const string NetworkName = "discord";

    /// <summary>Interaction tokens last 15 minutes; an older resumed job cannot be answered any more.</summary>
    public static readonly TimeSpan InteractionLifetime = TimeSpan.FromMinutes(14);

    public string Network => NetworkName;

    public async Task HandleAsync(ChatJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = DiscordRequest.FromJson(job.Payload);
        if (request.IsInteraction && live.Find(job.Id) is null && time.GetUtcNow() - job.AcceptedAt > InteractionLifetime)
        {
            LogExpired(job.Id);
            return;
        }
        var context = Context(request);
        var reply = request.Action switch
        {
            DiscordAction.AnalyzePhoto => await AnalyzeAsync(request.Photo!, context, cancellationToken).ConfigureAwait(false),
            DiscordAction.Command => conversation.AnswerCommand(new ParsedCommand(request.CommandName ?? "", request.CommandArgument ?? ""), context),
            DiscordAction.NotAnImage => conversation.Problem(PhotoProblem.NotAnImage, context.Language),
            DiscordAction.TooLarge => conversation.Problem(PhotoProblem.TooLarge, context.Language),
            DiscordAction.Busy => conversation.Busy(TimeSpan.FromSeconds(request.RetryAfterSeconds ?? 1), context.Language),
            _ => conversation.AnswerText(context),
        };
        if (reply.ErrorCode is { } code)
        {
            LogRefused(job.Id, code);
            ChatMetrics.Rejected(NetworkName, code);
        }
        var started = time.GetTimestamp();
        await SendAsync(job.Id, request, DiscordReplies.From(reply), ReplyNonce(request), cancellationToken).ConfigureAwait(false);
        ChatMetrics.Stage(NetworkName, ChatMetrics.Send, time.GetElapsedTime(started));
        LogAnswered(job.Id, request.IsInteraction ? "interaction" : "message", reply.Kind);
    }

    public async Task ApologizeAsync(ChatJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = DiscordRequest.FromJson(job.Payload);
        var reply = conversation.Problem(PhotoProblem.Failed, Context(request).Language);
        try
        {
            await SendAsync(job.Id, request, DiscordReplies.From(reply), ApologyNonce(request), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            live.Complete(job.Id);
        }
    }

    /// <summary>
    /// The nonce of the reply to a message: derived from the message it answers, so a retry, and a resumed job after
    /// a crash, repeat the same nonce and Discord (with <c>enforce_nonce</c>) returns the first reply instead of posting
    /// a second. Discord allows 25 characters; a snowflake has at most 20.
    /// </summary>
    internal static string? ReplyNonce(DiscordRequest request) => request.MessageId is { } id ? id + "r" : null;

    /// <summary>The apology has its own nonce: it is a different message from the reply it replaces.</summary>
    internal static string? ApologyNonce(DiscordRequest request) => request.MessageId is { } id ? id + "a" : null;

    internal static ChatKey ChatOf(DiscordRequest request) => new(NetworkName, request.ChannelId);

    private ChatContext Context(DiscordRequest request)
    {
        var chat = ChatOf(request);
        // Discord messages carry no locale; the channel's stored choice (or English) applies.
        return new ChatContext(chat, conversation.LanguageFor(chat, null), Otchatsa.Conversation.ReplyLayout.Album);
    }

    private async Task<ChatReply> AnalyzeAsync(DiscordPhoto photo, ChatContext context, CancellationToken cancellationToken)
    {
        DownloadedImage image;
        var started = time.GetTimestamp();
        try
        {
            image = await downloader.DownloadImageAsync(new DiscordAttachment
            {
                Id = photo.Id,
                Filename = photo.Filename,
                Url = photo.Url,
                Size = photo.Size,
                ContentType = photo.ContentType,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AttachmentRejectedException ex)
        {
            return conversation.Problem(ex.Reason switch
            {
                AttachmentRejection.TooLarge => PhotoProblem.TooLarge,
                AttachmentRejection.NotAnImage => PhotoProblem.NotAnImage,
                _ => PhotoProblem.DownloadFailed,
            }, context.Language);
        }
        ChatMetrics.Stage(NetworkName, ChatMetrics.Download, time.GetElapsedTime(started));
        started = time.GetTimestamp();
        var reply = conversation.AnswerPhoto(image.Content, context);
        ChatMetrics.Stage(NetworkName, ChatMetrics.Analyze, time.GetElapsedTime(started));
        return reply;
    }

    private async Task SendAsync(long jobId, DiscordRequest request, DiscordReply reply, string? nonce, CancellationToken cancellationToken)
    {
        if (!request.IsInteraction)
        {
            var composed = ReplyComposer.Compose(reply, options.ReplyLayout);
            var source = new DiscordMessage { Id = request.MessageId!, ChannelId = request.ChannelId, GuildId = request.GuildId };
            var replyMessage = ReplyComposer.AsReplyTo(composed.Message, source) with { Nonce = nonce, EnforceNonce = nonce is null ? null : true };
            await rest.CreateMessageAsync(request.ChannelId, replyMessage, composed.Files, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (live.Find(jobId) is { } context)
        {
            // Through the context: it knows the interaction was deferred and records that it is now answered.
            await context.RespondAsync(reply, cancellationToken).ConfigureAwait(false);
            live.Complete(jobId);
            return;
        }

        // Resumed after a restart: the deferral happened in the previous run, so the answer is the PATCH.
        var message = ReplyComposer.Compose(reply, options.ReplyLayout);
        await rest.EditOriginalInteractionResponseAsync(request.ApplicationId!, request.InteractionToken!,
            message.Message with { AllowedMentions = AllowedMentions.None, Flags = message.Message.Flags & ~MessageFlags.Ephemeral },
            message.Files, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord job {JobId} answered ({Via}, {Kind})")]
    private partial void LogAnswered(long jobId, string via, ReplyKind kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord job {JobId}: photo refused ({Code})")]
    private partial void LogRefused(long jobId, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord job {JobId}: the interaction expired before it could be answered; dropped")]
    private partial void LogExpired(long jobId);
}
