using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Hosting;
using Otchatsa.Discord;
using Otchatsa.Discord.Rest;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Telegram.Bot.Exceptions;

namespace Otchatsa.Bot.Telegram;

/// <summary>
/// The one retry layer for the Bot API calls that answer a job (Telegram.Bot's own 429 retry is switched off and the
/// queue never retries). Reads (<c>getFile</c>, the download, <c>sendChatAction</c>) are retried after any transient
/// failure. A send (<c>sendMessage</c>, <c>sendPhoto</c>, <c>sendMediaGroup</c>) has no idempotency key in the Bot
/// API, so it is retried only when the failure proves Telegram did not act on it: a 429 (flood wait, the message
/// was not sent) or a connection that was never established. A 5xx, a reset or a timeout of a send may hide a
/// delivered message and is not repeated: the job fails and the user gets one apology.
/// </summary>
public sealed partial class TelegramCalls
{
    private static readonly ResiliencePropertyKey<bool> IdempotentKey = new("telegram.idempotent");
    private static readonly ResiliencePropertyKey<string> OperationKey = new("telegram.operation");

    private readonly TelegramOptions _options;
    private readonly Backoff _backoff;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger<TelegramCalls> _logger;

    public TelegramCalls(IOptions<TelegramOptions> options, TimeProvider time, ILogger<TelegramCalls> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        _backoff = new Backoff(_options.InitialBackoff, _options.MaxBackoff);
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && ShouldRetry(ex, args.Context)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    RetryAfter(args.Outcome.Exception) ?? _backoff.Next(args.AttemptNumber + 1)),
                OnRetry = args =>
                {
                    var operation = args.Context.Properties.GetValue(OperationKey, "");
                    var reason = Reason(args.Outcome.Exception!);
                    LogRetry(operation, reason, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds);
                    RetryMetrics.Record(TelegramJobHandler.NetworkName, operation, reason);
                    return ValueTask.CompletedTask;
                },
            });
        }
        _pipeline = builder.AddTimeout(_options.RequestTimeout).Build();
    }

    /// <summary>A call that may be repeated freely (reads, chat actions).</summary>
    public Task<T> ReadAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(operation, idempotent: true, call, cancellationToken);

    /// <summary>A call that creates a message: repeated only when it provably was not sent.</summary>
    public Task<T> SendAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(operation, idempotent: false, call, cancellationToken);

    /// <summary>The HTTP status of a failed call, when Telegram answered one.</summary>
    public static int? StatusOf(Exception exception) => exception switch
    {
        ApiRequestException api => api.ErrorCode,
        RequestException { HttpStatusCode: { } status } => (int)status,
        _ => null,
    };

    private async Task<T> RunAsync<T>(string operation, bool idempotent, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(IdempotentKey, idempotent);
            context.Properties.Set(OperationKey, operation);
            return await _pipeline.ExecuteAsync(
                static async (ctx, c) => await c(ctx.CancellationToken).ConfigureAwait(false), context, call).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private bool ShouldRetry(Exception exception, ResilienceContext context)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
        var status = StatusOf(exception);
        if (status == 429)
        {
            // Flood wait: Telegram did not act on the request. Beyond the threshold the job fails instead of stalling.
            return RetryAfter(exception) is not { } wait || wait <= TimeSpan.FromSeconds(_options.RetryThreshold);
        }
        if (SendFailures.ProvesNotSent(exception))
        {
            return true;
        }
        if (!context.Properties.GetValue(IdempotentKey, false))
        {
            return false;
        }
        return status is >= 500 or 408
               || (status is null && exception is RequestException or HttpRequestException or IOException or TimeoutRejectedException);
    }

    private static TimeSpan? RetryAfter(Exception? exception) =>
        exception is ApiRequestException { Parameters.RetryAfter: int seconds } ? TimeSpan.FromSeconds(seconds) : null;

    private static string Reason(Exception exception) => StatusOf(exception) switch
    {
        429 => "rate_limited",
        { } status => "http_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        null when exception is TimeoutRejectedException => "timeout",
        null when SendFailures.ProvesNotSent(exception) => "not_connected",
        _ => "transport",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram {Operation} failed ({Reason}); retry {Retry} in {Seconds:F1} s")]
    private partial void LogRetry(string operation, string reason, int retry, double seconds);
}
