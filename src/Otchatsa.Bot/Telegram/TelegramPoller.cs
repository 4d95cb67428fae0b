using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types;
using Telegram.Bot;

namespace Otchatsa.Bot.Telegram;

/// <summary>Telegram answered 401: the token is wrong or revoked. Fatal; the worker exits non-zero.</summary>
public sealed class TelegramTokenRejectedException(Exception inner)
    : Exception("Telegram rejected the bot token (401 Unauthorized); check Telegram:BotToken.", inner);

/// <summary>
/// Long polling: <c>deleteWebhook</c>, <c>getMe</c>, <c>setMyCommands</c>, resume stored jobs, then
/// <c>getUpdates</c> in a loop. Each batch is routed, rate-limited, and written to the store together with the next
/// offset <em>before</em> the next <c>getUpdates</c> acknowledges it to Telegram; only then are the jobs queued.
/// Errors back off exponentially with jitter; 429 waits <c>retry_after</c>; 401 is fatal.
/// </summary>
public sealed partial class TelegramPoller(
    ITelegramBotClient bot,
    JobOutbox outbox,
    ChatJobQueue queue,
    ChatRateLimiter limiter,
    OtchatsaConversation conversation,
    IOptions<TelegramOptions> options,
    TimeProvider time,
    ILogger<TelegramPoller> logger)
{
    private static readonly UpdateType[] AllowedUpdates = [UpdateType.Message];

    private readonly Otchatsa.Discord.Backoff _backoff = new(options.Value.InitialBackoff, options.Value.MaxBackoff);
    private long _lastPollTicks;

    public TelegramBotIdentity? Identity { get; private set; }

    /// <summary>When the last <c>getUpdates</c> answered (null before the first): the health endpoint's "connected".</summary>
    public DateTimeOffset? LastPoll => Interlocked.Read(ref _lastPollTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var me = await RetryAsync(async ct =>
        {
            try
            {
                await bot.DeleteWebhook(cancellationToken: ct).ConfigureAwait(false);
                var user = await bot.GetMe(ct).ConfigureAwait(false);
                await bot.SetMyCommands(
                    ParsedCommand.Known.Select(c => new BotCommand { Command = c.Name, Description = c.Description }),
                    cancellationToken: ct).ConfigureAwait(false);
                return user;
            }
            catch (ApiRequestException ex) when (ex.ErrorCode == 404)
            {
                // The Bot API answers 404 for a malformed token or a base URL that is not a Bot API: retrying cannot help.
                throw new ChatServiceStartException(
                    $"Telegram answered the start-up call with 404 Not Found; check Telegram:ApiBaseUrl ({options.Value.ApiBaseUrl}) and the token's format.", ex);
            }
        }, cancellationToken).ConfigureAwait(false);
        Identity = new TelegramBotIdentity(me.Id, me.Username ?? "");
        LogConnected(Identity.Username);

        outbox.PurgeFinished(TimeSpan.FromDays(2));
        TelegramJobHandler.WarmUpReplyPath(outbox);
        var pending = outbox.PendingJobs(TelegramJobHandler.NetworkName);
        if (pending.Count > 0)
        {
            LogResuming(pending.Count);
        }
        foreach (var job in pending)
        {
            await queue.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
        }

        var offset = outbox.GetOffset(TelegramJobHandler.NetworkName);
        var timeout = (int)options.Value.PollTimeout.TotalSeconds;
        while (!cancellationToken.IsCancellationRequested)
        {
            var updates = await RetryAsync(
                ct => bot.GetUpdates((int?)offset, 100, timeout, AllowedUpdates, ct), cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _lastPollTicks, time.GetUtcNow().UtcTicks);
            if (updates.Length == 0)
            {
                continue;
            }
            offset = updates.Max(u => (long)u.Id) + 1;
            var accepted = outbox.Accept(TelegramJobHandler.NetworkName, Intake(updates), offset);
            foreach (var job in accepted)
            {
                await queue.EnqueueAsync(job, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private List<NewChatJob> Intake(Update[] updates)
    {
        var jobs = new List<NewChatJob>(updates.Length);
        foreach (var update in updates)
        {
            var request = TelegramUpdateRouter.Route(update, Identity!, conversation.MaxPhotoBytes);
            if (request is null)
            {
                continue;
            }
            if (request.Action == TelegramAction.AnalyzePhoto
                && !limiter.TryAcquire(request.UserId.ToString(CultureInfo.InvariantCulture), request.ChatId.ToString(CultureInfo.InvariantCulture), out var wait))
            {
                LogRateLimited(request.ChatId, wait.TotalSeconds);
                request = request with { Action = TelegramAction.Busy, FileId = null, RetryAfterSeconds = Math.Ceiling(wait.TotalSeconds) };
            }
            jobs.Add(new NewChatJob(update.Id.ToString(CultureInfo.InvariantCulture), request.ChatId.ToString(CultureInfo.InvariantCulture), request.ToJson()));
        }
        return jobs;
    }

    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        for (var failures = 1; ; failures++)
        {
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (ApiRequestException ex) when (ex.ErrorCode == 401)
            {
                throw new TelegramTokenRejectedException(ex);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is RequestException or HttpRequestException or IOException or TaskCanceledException)
            {
                var wait = ex is ApiRequestException { Parameters.RetryAfter: int seconds }
                    ? TimeSpan.FromSeconds(seconds)
                    : _backoff.Next(failures);
                LogPollFailed(ex, failures, wait.TotalSeconds);
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram: polling as @{Username}")]
    private partial void LogConnected(string username);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram: resuming {Count} job(s) accepted before the last stop")]
    private partial void LogResuming(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram: chat {ChatId} is rate-limited for {Seconds:F0} s")]
    private partial void LogRateLimited(long chatId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram request failed ({Failures} in a row); retrying in {Seconds:F1} s")]
    private partial void LogPollFailed(Exception exception, int failures, double seconds);
}
