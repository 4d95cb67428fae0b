using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.Telegram;
using Otchatsa.Conversation;

namespace Otchatsa.Bot.Hosting;

/// <summary>Starts the shared queue's workers; at shutdown lets them answer what is queued (drain) until the host's
/// shutdown timeout, after which unfinished jobs stay pending for the next start.</summary>
internal sealed class ChatQueueService(ChatJobQueue queue) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        queue.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => queue.DrainAsync(cancellationToken);
}

/// <summary>Runs the Telegram long-polling loop; a rejected token stops the host with exit code 3.</summary>
internal sealed partial class TelegramPollingService(
    TelegramPoller poller,
    IHostApplicationLifetime lifetime,
    BotExitCode exitCode,
    ILogger<TelegramPollingService> logger) : BackgroundService
{
    public const int TokenRejectedExitCode = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await poller.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (TelegramTokenRejectedException ex)
        {
            LogTokenRejected(ex.Message);
            exitCode.Fail(TokenRejectedExitCode, ex.Message);
            lifetime.StopApplication();
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Anything else would end in the host's "BackgroundService failed" with a stack trace: one line instead.
            var (code, reason) = BotExitCode.Describe(ex);
            LogStopped(reason, code);
            exitCode.Fail(code, reason);
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Reason}")]
    private partial void LogTokenRejected(string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Telegram front end stopped: {Reason} Exiting with code {ExitCode}.")]
    private partial void LogStopped(string reason, int exitCode);
}
