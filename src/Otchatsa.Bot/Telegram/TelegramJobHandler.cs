using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Hosting;
using Otchatsa.Conversation;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.ReplyMarkups;

namespace Otchatsa.Bot.Telegram;

/// <summary>
/// Answers one stored Telegram job: downloads the photo, asks the conversation core, and sends the reply — in private
/// chats an album of the nine items plus a text message with the style and mall buttons, in groups one collage photo
/// with caption and buttons (configurable).
/// </summary>
public sealed partial class TelegramJobHandler(
    ITelegramBotClient bot,
    OtchatsaConversation conversation,
    ChatStateStore store,
    IOptions<TelegramOptions> options,
    ILogger<TelegramJobHandler> logger) : IChatJobHandler
{
    public const string NetworkName = "telegram";

    public string Network => NetworkName;

    public async Task HandleAsync(ChatJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = TelegramRequest.FromJson(job.Payload);
        var chat = new ChatKey(NetworkName, request.ChatId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var lang = conversation.LanguageFor(chat, request.LanguageCode);
        var layout = request.IsGroup && options.Value.GroupReply == GroupReplyStyle.Collage ? ReplyLayout.Collage : ReplyLayout.Album;
        var context = new ChatContext(chat, lang, layout);

        var reply = request.Action switch
        {
            TelegramAction.AnalyzePhoto => await AnalyzeAsync(request, context, cancellationToken).ConfigureAwait(false),
            TelegramAction.Command => conversation.AnswerCommand(new ChatCommand(request.CommandName ?? "", request.CommandArgument ?? ""), context),
            TelegramAction.NotAnImage => conversation.Problem(PhotoProblem.NotAnImage, lang),
            TelegramAction.TooLarge => conversation.Problem(PhotoProblem.TooLarge, lang),
            TelegramAction.Busy => conversation.Busy(TimeSpan.FromSeconds(request.RetryAfterSeconds ?? 1), lang),
            _ => conversation.AnswerText(context),
        };
        if (reply.ErrorCode is { } code)
        {
            LogRefused(job.Id, request.ChatId, code);
        }
        await SendAsync(job.Id, request, reply, cancellationToken).ConfigureAwait(false);
        LogAnswered(job.Id, request.ChatId, reply.Kind);
    }

    public async Task ApologizeAsync(ChatJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = TelegramRequest.FromJson(job.Payload);
        var chat = new ChatKey(NetworkName, request.ChatId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var reply = conversation.Problem(PhotoProblem.Failed, conversation.LanguageFor(chat, request.LanguageCode));
        await bot.SendMessage(request.ChatId, reply.Text,
            replyParameters: new ReplyParameters { MessageId = request.MessageId, AllowSendingWithoutReply = true },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    public bool IsTransient(Exception exception) => exception switch
    {
        ApiRequestException api => api.ErrorCode is 429 or >= 500,
        RequestException or HttpRequestException or IOException => true,
        TaskCanceledException => true,
        _ => false,
    };

    public TimeSpan? RetryAfter(Exception exception) =>
        exception is ApiRequestException { Parameters.RetryAfter: int seconds } ? TimeSpan.FromSeconds(seconds) : null;

    private async Task<ChatReply> AnalyzeAsync(TelegramRequest request, ChatContext context, CancellationToken cancellationToken)
    {
        await bot.SendChatAction(request.ChatId, ChatAction.UploadPhoto, cancellationToken: cancellationToken).ConfigureAwait(false);
        byte[] photo;
        try
        {
            var file = await bot.GetFile(request.FileId!, cancellationToken).ConfigureAwait(false);
            if (file.FileSize > conversation.MaxPhotoBytes)
            {
                return conversation.Problem(PhotoProblem.TooLarge, context.Language);
            }
            if (string.IsNullOrEmpty(file.FilePath))
            {
                return conversation.Problem(PhotoProblem.DownloadFailed, context.Language);
            }
            using var buffer = new CappedMemoryStream(conversation.MaxPhotoBytes);
            await bot.DownloadFile(file.FilePath, buffer, cancellationToken).ConfigureAwait(false);
            photo = buffer.ToArray();
        }
        catch (ApiRequestException ex) when (ex.ErrorCode == 400 && ex.Message.Contains("too big", StringComparison.OrdinalIgnoreCase))
        {
            return conversation.Problem(PhotoProblem.TooLarge, context.Language);
        }
        catch (ApiRequestException ex) when (ex.ErrorCode is >= 400 and < 500 and not 429)
        {
            LogDownloadFailed(ex, request.ChatId);
            return conversation.Problem(PhotoProblem.DownloadFailed, context.Language);
        }
        catch (Exception ex) when (ex is CappedMemoryStream.LimitExceededException || ex.InnerException is CappedMemoryStream.LimitExceededException)
        {
            return conversation.Problem(PhotoProblem.TooLarge, context.Language);
        }
        return conversation.AnswerPhoto(photo, context);
    }

    private async Task SendAsync(long jobId, TelegramRequest request, ChatReply reply, CancellationToken cancellationToken)
    {
        var replyTo = new ReplyParameters { MessageId = request.MessageId, AllowSendingWithoutReply = true };
        var buttons = reply.Links.Count == 0
            ? null
            : new InlineKeyboardMarkup(reply.Links.Select(l => new[] { InlineKeyboardButton.WithUrl(l.Label, l.Url) }));
        var parts = new List<Func<Task>>();
        if (reply.Images.Count >= 2)
        {
            parts.Add(() => bot.SendMediaGroup(
                request.ChatId,
                reply.Images.Take(10).Select(i => new InputMediaPhoto(InputFile.FromStream(new MemoryStream(i.Bytes), i.FileName)) { Caption = i.Caption }),
                replyParameters: replyTo,
                cancellationToken: cancellationToken));
        }
        else if (reply.Images.Count == 1)
        {
            var only = reply.Images[0];
            parts.Add(() => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(only.Bytes), only.FileName), only.Caption,
                replyParameters: replyTo, cancellationToken: cancellationToken));
        }
        if (reply.Collage is { } collage && reply.Text.Length <= 1024)
        {
            parts.Add(() => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(collage.Bytes), collage.FileName), reply.Text,
                replyParameters: replyTo, replyMarkup: buttons, cancellationToken: cancellationToken));
        }
        else
        {
            if (reply.Collage is { } big)
            {
                parts.Add(() => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(big.Bytes), big.FileName),
                    replyParameters: replyTo, cancellationToken: cancellationToken));
            }
            parts.Add(() => bot.SendMessage(request.ChatId, reply.Text, replyParameters: replyTo, replyMarkup: buttons,
                linkPreviewOptions: new LinkPreviewOptions { IsDisabled = true }, cancellationToken: cancellationToken));
        }

        // Stored, not kept in memory: a retry or a restart after a partial send (album sent, text failed) resumes after it.
        for (var i = store.SentParts(jobId); i < parts.Count; i++)
        {
            await parts[i]().ConfigureAwait(false);
            store.SetSentParts(jobId, i + 1);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram job {JobId} in chat {ChatId} answered ({Kind})")]
    private partial void LogAnswered(long jobId, long chatId, ReplyKind kind);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram job {JobId} in chat {ChatId}: photo refused ({Code})")]
    private partial void LogRefused(long jobId, long chatId, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not download a photo in chat {ChatId}")]
    private partial void LogDownloadFailed(Exception exception, long chatId);
}

/// <summary>A memory stream that refuses to grow past a limit, so a lying <c>file_size</c> cannot exhaust memory.</summary>
internal sealed class CappedMemoryStream(long limit) : MemoryStream
{
    public override void Write(byte[] buffer, int offset, int count)
    {
        Check(count);
        base.Write(buffer, offset, count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Check(buffer.Length);
        base.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Check(count);
        return base.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Check(buffer.Length);
        return base.WriteAsync(buffer, cancellationToken);
    }

    public override void WriteByte(byte value)
    {
        Check(1);
        base.WriteByte(value);
    }

    private void Check(long count)
    {
        if (Length + count > limit)
        {
            throw new LimitExceededException();
        }
    }

    internal sealed class LimitExceededException : IOException;
}
