using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Conversation;
using Otchatsa.Discord.Gateway;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord;
using Otchatsa.Web;

namespace Otchatsa.Bot.Discord;

/// <summary>
/// Runs the Discord bot (command registration, gateway, handlers) after re-queueing the Discord jobs a previous run
/// accepted but did not answer. A fatal gateway stop (rejected token, disallowed intents…) ends only Discord; when
/// Discord is the only front end (no Telegram, no web page) the worker stops with <see cref="FatalExitCode"/>.
/// </summary>
public sealed partial class DiscordFrontEnd(
    DiscordBot bot,
    JobOutbox outbox,
    GatewaySessionStore sessions,
    ChatJobQueue queue,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    BotExitCode exitCode,
    DiscordClientOptions options,
    TimeProvider time,
    ILogger<DiscordFrontEnd> logger) : BackgroundService
{
    /// <summary>
    /// A saved gateway session younger than this is resumed at start (so Discord replays the events a killed worker
    /// had not stored); an older one is identified afresh. Discord keeps a dropped session resumable only briefly, and
    /// a resume it refuses (op 9 d:false) also ends in a new identify.
    /// </summary>
    public static readonly TimeSpan ResumeWindow = TimeSpan.FromMinutes(2);
    /// <summary>The same code as a rejected Telegram token, so a supervisor needs to know one "fix the config" code.</summary>
    public const int FatalExitCode = 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var pending = outbox.PendingJobs(DiscordJobHandler.NetworkName);
            if (pending.Count > 0)
            {
                LogResuming(pending.Count);
            }
            foreach (var job in pending)
            {
                await queue.EnqueueAsync(job, stoppingToken).ConfigureAwait(false);
            }
            RestoreSession();
            bot.Checkpoint += c => sessions.Save(DiscordJobHandler.NetworkName, c.SessionId, c.ResumeGatewayUrl.ToString(), c.Sequence);
            await bot.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (GatewayFatalException ex)
        {
            // The exception message names the close code and the fix; it never contains the token.
            Stop(ex.Message, FatalExitCode);
        }
        catch (DiscordRestException ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Only start-up calls get here (command registration failures are logged and survived): e.g. a proxy
            // without GET /applications/@me. Retrying would not help; the message never contains the token.
            Stop($"{BotExitCode.OneLine(ex.Message)} at start; check Discord:ApiBaseUrl ({options.ApiBaseUrl}) and any proxy in between.",
                BotExitCode.UnexpectedAnswer);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Anything else would end in the host's "BackgroundService failed" with a stack trace: one line instead.
            var (code, reason) = BotExitCode.Describe(ex);
            Stop(reason, code);
        }
    }

    private void RestoreSession()
    {
        if (sessions.Get(DiscordJobHandler.NetworkName) is not { } saved)
        {
            return;
        }
        var age = time.GetUtcNow() - saved.SavedAt;
        if (age <= ResumeWindow && Uri.TryCreate(saved.ResumeUrl, UriKind.Absolute, out var url))
        {
            LogRestoring(saved.Sequence, (long)age.TotalSeconds);
            bot.Gateway.RestoreSession(saved.SessionId, url, saved.Sequence);
        }
        else
        {
            LogStaleSession((long)age.TotalSeconds);
        }
    }

    private void Stop(string reason, int code)
    {
        var others = OtherFrontEnds();
        if (others.Length > 0)
        {
            LogStoppedOthersRun(reason, string.Join(" and ", others));
        }
        else
        {
            LogStoppedExiting(reason, code);
            exitCode.Fail(code, $"Discord front end stopped: {reason}");
            lifetime.StopApplication();
        }
    }

    private string[] OtherFrontEnds() =>
        new[] { (Name: "Telegram", Section: TelegramOptions.Section), (Name: "the web page", Section: WebOptions.Section) }
            .Where(f => configuration.GetValue<bool>($"{f.Section}:Enabled"))
            .Select(f => f.Name)
            .ToArray();

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord: resuming {Count} job(s) accepted before the last stop")]
    private partial void LogResuming(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord: resuming the gateway session saved {AgeSeconds} s ago after sequence {Sequence}")]
    private partial void LogRestoring(int sequence, long ageSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord: the saved gateway session is {AgeSeconds} s old; identifying a new one")]
    private partial void LogStaleSession(long ageSeconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Discord front end stopped: {Reason} Still running: {Others}.")]
    private partial void LogStoppedOthersRun(string reason, string others);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Discord front end stopped: {Reason} It is the only front end; exiting with code {ExitCode}.")]
    private partial void LogStoppedExiting(string reason, int exitCode);
}
