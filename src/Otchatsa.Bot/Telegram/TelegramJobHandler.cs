using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.ReplyMarkups;
using Telegram.Bot.Types;
using Telegram.Bot;

namespace Otchatsa.Bot.Telegram;

/// <summary>
/// Answers one stored Telegram job: downloads the photo, asks the conversation core, and sends the reply — in private
/// chats an album of the nine items plus a text message with the style and mall buttons, in groups one collage photo
/// with caption and buttons (configurable).
/// </summary>
public sealed partial class TelegramJobHandler(
    ITelegramBotClient bot,
    TelegramCalls calls,
    OtchatsaConversation conversation,
    JobOutbox outbox,
    IOptions<TelegramOptions> options,
    TimeProvider time,
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
            TelegramAction.Command => conversation.AnswerCommand(new ParsedCommand(request.CommandName ?? "", request.CommandArgument ?? ""), context),
            TelegramAction.NotAnImage => conversation.Problem(PhotoProblem.NotAnImage, lang),
            TelegramAction.TooLarge => conversation.Problem(PhotoProblem.TooLarge, lang),
            TelegramAction.Busy => conversation.Busy(TimeSpan.FromSeconds(request.RetryAfterSeconds ?? 1), lang),
            _ => conversation.AnswerText(context),
        };
        if (reply.ErrorCode is { } code)
        {
            LogRefused(job.Id, request.ChatId, code);
            ChatMetrics.Rejected(NetworkName, code);
        }
        var started = time.GetTimestamp();
        await SendAsync(job.Id, request, reply, cancellationToken).ConfigureAwait(false);
        ChatMetrics.Stage(NetworkName, ChatMetrics.Send, time.GetElapsedTime(started));
        LogAnswered(job.Id, request.ChatId, reply.Kind);
    }

    public async Task ApologizeAsync(ChatJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var request = TelegramRequest.FromJson(job.Payload);
        var chat = new ChatKey(NetworkName, request.ChatId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var reply = conversation.Problem(PhotoProblem.Failed, conversation.LanguageFor(chat, request.LanguageCode));
        await calls.SendAsync("sendMessage", ct => bot.SendMessage(request.ChatId, reply.Text,
            replyParameters: new ReplyParameters { MessageId = request.MessageId, AllowSendingWithoutReply = true },
            cancellationToken: ct), cancellationToken).ConfigureAwait(false);
    }

    private async Task<ChatReply> AnalyzeAsync(TelegramRequest request, ChatContext context, CancellationToken cancellationToken)
    {
        await calls.ReadAsync("sendChatAction", async ct =>
        {
            await bot.SendChatAction(request.ChatId, ChatAction.UploadPhoto, cancellationToken: ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        byte[] photo;
        var started = time.GetTimestamp();
        try
        {
            var file = await calls.ReadAsync("getFile", ct => bot.GetFile(request.FileId!, ct), cancellationToken).ConfigureAwait(false);
            if (file.FileSize > conversation.MaxPhotoBytes)
            {
                return conversation.Problem(PhotoProblem.TooLarge, context.Language);
            }
            if (string.IsNullOrEmpty(file.FilePath))
            {
                return conversation.Problem(PhotoProblem.DownloadFailed, context.Language);
            }
            photo = await calls.ReadAsync("download", async ct =>
            {
                // A fresh buffer per attempt, so a retried download never appends to a partial one.
                using var buffer = new CappedMemoryStream(conversation.MaxPhotoBytes);
                await bot.DownloadFile(file.FilePath, buffer, ct).ConfigureAwait(false);
                return buffer.ToArray();
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (ApiRequestException ex) when (ex.ErrorCode == 400 && ex.Message.Contains("too big", StringComparison.OrdinalIgnoreCase))
        {
            return conversation.Problem(PhotoProblem.TooLarge, context.Language);
        }
        catch (RequestException ex) when (TelegramCalls.StatusOf(ex) is >= 400 and < 500 and not 429 and not 408)
        {
            // A file Telegram no longer has (404) or refuses (400, 403) will not appear by retrying: ask for it again.
            LogDownloadFailed(ex, request.ChatId);
            return conversation.Problem(PhotoProblem.DownloadFailed, context.Language);
        }
        catch (Exception ex) when (ex is CappedMemoryStream.LimitExceededException || ex.InnerException is CappedMemoryStream.LimitExceededException)
        {
            return conversation.Problem(PhotoProblem.TooLarge, context.Language);
        }
        ChatMetrics.Stage(NetworkName, ChatMetrics.Download, time.GetElapsedTime(started));
        started = time.GetTimestamp();
        var reply = conversation.AnswerPhoto(photo, context);
        ChatMetrics.Stage(NetworkName, ChatMetrics.Analyze, time.GetElapsedTime(started));
        return reply;
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
            parts.Add(() => calls.SendAsync("sendMediaGroup", ct => bot.SendMediaGroup(
                request.ChatId,
                reply.Images.Take(10).Select(i => new InputMediaPhoto(InputFile.FromStream(new MemoryStream(i.Bytes), i.FileName)) { Caption = i.Caption }),
                replyParameters: replyTo,
                cancellationToken: ct), cancellationToken));
        }
        else if (reply.Images.Count == 1)
        {
            var only = reply.Images[0];
            parts.Add(() => calls.SendAsync("sendPhoto", ct => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(only.Bytes), only.FileName), only.Caption,
                replyParameters: replyTo, cancellationToken: ct), cancellationToken));
        }
        if (reply.Collage is { } collage && reply.Text.Length <= 1024)
        {
            parts.Add(() => calls.SendAsync("sendPhoto", ct => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(collage.Bytes), collage.FileName), reply.Text,
                replyParameters: replyTo, replyMarkup: buttons, cancellationToken: ct), cancellationToken));
        }
        else
        {
            if (reply.Collage is { } big)
            {
                parts.Add(() => calls.SendAsync("sendPhoto", ct => bot.SendPhoto(request.ChatId, InputFile.FromStream(new MemoryStream(big.Bytes), big.FileName),
                    replyParameters: replyTo, cancellationToken: ct), cancellationToken));
            }
            parts.Add(() => calls.SendAsync("sendMessage", ct => bot.SendMessage(request.ChatId, reply.Text, replyParameters: replyTo, replyMarkup: buttons,
                linkPreviewOptions: new LinkPreviewOptions { IsDisabled = true }, cancellationToken: ct), cancellationToken));
        }

        // Stored, not kept in memory: a restart after a partial send (album sent, then killed) resumes after it. The
        // Bot API has no idempotency key, so the only window in which a crash repeats a part is between Telegram
        // storing a message and this process committing that fact: one HTTP response plus one SQLite commit, nothing
        // else runs in between. A part in that window is sent again after the restart (at least once).
        // A resumed job recomputes its reply. If that reply has another shape than the one partly sent (the photo could
        // not be downloaded again after its album went out), skipping by position would drop the new answer: send it whole.
        var (first, of) = outbox.Progress(jobId);
        if (first > 0 && of is { } before && before != parts.Count)
        {
            LogReplyChanged(jobId, request.ChatId, first, before, parts.Count);
            first = 0;
        }
        LogSending(jobId, request.ChatId, first + 1, parts.Count);
        for (var i = first; i < parts.Count; i++)
        {
            await parts[i]().ConfigureAwait(false);
            outbox.SetSentParts(jobId, i + 1, parts.Count);
            LogPartSent(jobId, request.ChatId, i + 1, parts.Count);
        }
    }

    /// <summary>
    /// Runs once, before any job is resumed, the code that runs between Telegram storing a reply part and the worker
    /// committing that fact: parsing a sent message (<c>sendMessage</c>/<c>sendPhoto</c>) and an album
    /// (<c>sendMediaGroup</c>) with Telegram.Bot's serializer, and the <c>sent_parts</c> update (on no job). A crash
    /// in that window repeats the part (at least once), and in a fresh process the first pass through it is slow —
    /// JIT and serializer metadata, measured by the kill run at 0.1–0.5 s under load against ~1 ms warm — exactly when
    /// resumed jobs send. Sends nothing and changes no job. Returns the number of messages parsed (2).
    /// </summary>
    public static int WarmUpReplyPath(JobOutbox outbox)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        var sample = new Message
        {
            Id = 1,
            Date = DateTime.UnixEpoch,
            Chat = new Chat { Id = 1, Type = ChatType.Private },
            From = new User { Id = 1, IsBot = true, FirstName = "warm-up" },
            Text = "warm-up",
            Photo = [new PhotoSize { FileId = "warm-up", FileUniqueId = "warm-up", Width = 1, Height = 1 }],
            ReplyMarkup = new InlineKeyboardMarkup(InlineKeyboardButton.WithUrl("warm-up", "https://example.invalid/")),
        };
        var one = System.Text.Json.JsonSerializer.Serialize(new ApiResponse<Message> { Ok = true, Result = sample }, JsonBotAPI.Options);
        var album = System.Text.Json.JsonSerializer.Serialize(new ApiResponse<Message[]> { Ok = true, Result = [sample, sample] }, JsonBotAPI.Options);
        var parsed = System.Text.Json.JsonSerializer.Deserialize<ApiResponse<Message>>(one, JsonBotAPI.Options)?.Result is null ? 0 : 1;
        parsed += System.Text.Json.JsonSerializer.Deserialize<ApiResponse<Message[]>>(album, JsonBotAPI.Options)?.Result is { Length: 2 } ? 1 : 0;
        outbox.SetSentParts(0, 0, 0); // ids start at 1: no row
        return parsed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram job {JobId} in chat {ChatId}: {Sent} of {Before} parts were sent before a restart, the reply now has {Now}; sending it whole")]
    private partial void LogReplyChanged(long jobId, long chatId, int sent, int before, int now);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram job {JobId} in chat {ChatId}: sending from part {Next} of {Parts}")]
    private partial void LogSending(long jobId, long chatId, int next, int parts);

    // After the commit: the kill run matches this line to the fake's record of the request to measure the window.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram job {JobId} in chat {ChatId}: part {Part} of {Parts} sent and recorded")]
    private partial void LogPartSent(long jobId, long chatId, int part, int parts);

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
