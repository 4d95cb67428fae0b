using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Otchatsa.Discord.Interactions;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.Discord;

namespace Otchatsa.Bot.Discord;

/// <summary>
/// Intake for Discord. Messages: answered in DMs and when they @mention the bot (or reply to it with a photo); the
/// request is stored before it is queued, like Telegram's, so a crash loses nothing. Interactions: /help and /styles
/// are answered at once; photo work (<c>/style image:</c>, "Find similar style") is deferred, stored, queued, and
/// this handler waits until the job handler has PATCHed @original.
/// </summary>
public sealed partial class DiscordChatHandler(
    JobOutbox outbox,
    ChatJobQueue queue,
    ChatRateLimiter limiter,
    OtchatsaConversation conversation,
    DiscordClientOptions options,
    DiscordLiveInteractions live,
    DiscordIntakeHook hook,
    ILogger<DiscordChatHandler> logger) : IDiscordMessageHandler, IDiscordInteractionHandler
{
    /// <summary>How long a waiting interaction is given at shutdown (below the library's 10 s drain).</summary>
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(8);

    public async Task HandleMessageAsync(DiscordMessageContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Route(context) is not { } request)
        {
            return;
        }
        if (hook.BeforeStore is { } beforeStore)
        {
            await beforeStore(request, cancellationToken).ConfigureAwait(false);
        }
        foreach (var job in outbox.Accept(DiscordJobHandler.NetworkName, [new NewChatJob(request.UpdateKey, request.ChannelId, request.ToJson())], null))
        {
            await queue.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task HandleInteractionAsync(DiscordInteractionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var chat = new ChatKey(DiscordJobHandler.NetworkName, context.Interaction.ChannelId ?? context.Interaction.Invoker?.Id ?? "");
        var chatContext = new ChatContext(chat, conversation.LanguageFor(chat, null), Otchatsa.Conversation.ReplyLayout.Album);
        switch (context.CommandName)
        {
            case OtchatsaCommands.Help:
                await context.RespondAsync(DiscordReplies.From(conversation.AnswerCommand(new ParsedCommand(ParsedCommand.Help, ""), chatContext), ephemeral: true),
                    cancellationToken).ConfigureAwait(false);
                return;
            case OtchatsaCommands.Styles:
                await context.RespondAsync(DiscordReplies.From(conversation.AnswerCommand(new ParsedCommand(ParsedCommand.Styles, ""), chatContext)),
                    cancellationToken).ConfigureAwait(false);
                return;
            case OtchatsaCommands.Style when context.GetAttachment(OtchatsaCommands.ImageOption) is { } image:
                await AnalyzeAsync(context, image, chatContext, cancellationToken).ConfigureAwait(false);
                return;
            case OtchatsaCommands.Style:
                // A lookup renders a small collage; the library's auto-defer covers a slow render.
                var name = context.GetString(OtchatsaCommands.NameOption) ?? "";
                await context.RespondAsync(DiscordReplies.From(conversation.AnswerCommand(new ParsedCommand(ParsedCommand.Style, name), chatContext)),
                    cancellationToken).ConfigureAwait(false);
                return;
            case OtchatsaCommands.FindSimilar:
                var target = context.TargetMessage?.Attachments.FirstOrDefault(a => a.LooksLikeImage);
                if (target is null)
                {
                    await context.RespondAsync(DiscordReplies.From(conversation.Problem(PhotoProblem.NotAnImage, chatContext.Language), ephemeral: true),
                        cancellationToken).ConfigureAwait(false);
                    return;
                }
                await AnalyzeAsync(context, target, chatContext, cancellationToken).ConfigureAwait(false);
                return;
            default:
                await context.RespondAsync(DiscordReplies.From(conversation.AnswerCommand(new ParsedCommand(context.CommandName, ""), chatContext), ephemeral: true),
                    cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    private async Task AnalyzeAsync(DiscordInteractionContext context, DiscordAttachment image, ChatContext chat, CancellationToken cancellationToken)
    {
        var interaction = context.Interaction;
        var userId = interaction.Invoker?.Id ?? "";
        if (!limiter.TryAcquire(userId, chat.Chat.ChatId, out var wait))
        {
            LogRateLimited(userId, wait.TotalSeconds);
            await context.RespondAsync(DiscordReplies.From(conversation.Busy(wait, chat.Language), ephemeral: true), cancellationToken)
                .ConfigureAwait(false);
            return;
        }
        if (image.Size > options.MaxAttachmentBytes)
        {
            await context.RespondAsync(DiscordReplies.From(conversation.Problem(PhotoProblem.TooLarge, chat.Language), ephemeral: true), cancellationToken)
                .ConfigureAwait(false);
            return;
        }

        // Photo work takes longer than Discord's 3 s: acknowledge now, answer with PATCH @original.
        await context.DeferAsync(ephemeral: false, cancellationToken).ConfigureAwait(false);
        var request = new DiscordRequest(DiscordAction.AnalyzePhoto, chat.Chat.ChatId, userId, interaction.GuildId,
            ApplicationId: interaction.ApplicationId, InteractionId: interaction.Id, InteractionToken: interaction.Token,
            Photo: PhotoOf(image));
        var accepted = outbox.Accept(DiscordJobHandler.NetworkName, [new NewChatJob(request.UpdateKey, request.ChannelId, request.ToJson())], null);
        if (accepted.Count == 0)
        {
            return; // already stored (a replayed event): that job answers it
        }
        var job = accepted[0];
        var answered = live.Register(job.Id, context);
        try
        {
            await queue.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
            // Waiting keeps the interaction "unanswered" in the library's eyes until the job has PATCHed it; the token
            // expires after 15 minutes, so there is no point in waiting longer.
            await answered.WaitAsync(DiscordJobHandler.InteractionLifetime, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the queue keeps working until Discord has stopped, so the answer is usually moments away
            // (or its PATCH already in flight). Giving up at once would make the library send its apology on top.
            try
            {
                await answered.WaitAsync(ShutdownGrace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The job stays pending; the next start PATCHes @original over the library's apology.
            }
        }
        finally
        {
            live.Forget(job.Id);
        }
    }

    private DiscordRequest? Route(DiscordMessageContext context)
    {
        var message = context.Message;
        var mentioned = message.MentionsUser(context.BotUserId);
        if (!context.IsDirectMessage && !context.AddressesBot)
        {
            return null;
        }
        var request = new DiscordRequest(DiscordAction.Text, message.ChannelId, message.Author.Id, message.GuildId, message.Id);
        if (message.Attachments.Count == 0)
        {
            // A reply to the bot without a photo ("thanks!") needs no answer; a DM or an @mention gets a hint.
            return context.IsDirectMessage || mentioned ? request : null;
        }
        if (context.ImageAttachments is not [var photo, ..])
        {
            return request with { Action = DiscordAction.NotAnImage };
        }
        if (photo.Size > options.MaxAttachmentBytes)
        {
            return request with { Action = DiscordAction.TooLarge };
        }
        if (!limiter.TryAcquire(message.Author.Id, message.ChannelId, out var wait))
        {
            LogRateLimited(message.Author.Id, wait.TotalSeconds);
            return request with { Action = DiscordAction.Busy, RetryAfterSeconds = Math.Ceiling(wait.TotalSeconds) };
        }
        return request with { Action = DiscordAction.AnalyzePhoto, Photo = PhotoOf(photo) };
    }

    private static DiscordPhoto PhotoOf(DiscordAttachment a) => new(a.Id, a.Filename, a.Url, a.Size, a.ContentType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord: user {UserId} is rate-limited for {Seconds:F0} s")]
    private partial void LogRateLimited(string userId, double seconds);
}

/// <summary>
/// A seam for crash tests: runs after a Discord message was routed and before its job is stored (null in production).
/// </summary>
public sealed class DiscordIntakeHook
{
    public Func<DiscordRequest, CancellationToken, Task>? BeforeStore { get; set; }
}
