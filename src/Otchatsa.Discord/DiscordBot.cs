using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Gateway;
using Otchatsa.Discord.Gateway.WebSockets;
using Otchatsa.Discord.Interactions;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord.Rest.RateLimits;

namespace Otchatsa.Discord;

/// <summary>
/// The Discord side of the bot, host-agnostic: registers the commands, runs the gateway, filters events and runs
/// the handlers off the receive loop (so slow answers never delay heartbeat ACKs).
/// </summary>
public sealed partial class DiscordBot : IGatewayDispatchHandler
{
    /// <summary>Sent when a handler failed without answering an interaction.</summary>
    public const string InteractionFallbackText = "Sorry, something went wrong while answering. Please try again.";

    private readonly DiscordClientOptions _options;
    private readonly IReadOnlyList<ApplicationCommandProperties> _commands;
    private readonly IDiscordMessageHandler? _messages;
    private readonly IDiscordInteractionHandler? _interactions;
    private readonly AttachmentDownloader _downloader;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private readonly Lock _checkpointLock = new();
    private readonly SortedSet<int> _unhandled = [];
    private string? _checkpointSession;
    private int _lastSeen = -1;
    private CancellationToken _stopping;
    private volatile string? _botUserId;

    /// <summary>Creates the bot from its parts (see <see cref="Create"/> for the usual wiring).</summary>
    public DiscordBot(
        DiscordClientOptions options,
        IReadOnlyList<ApplicationCommandProperties> commands,
        IDiscordMessageHandler? messageHandler,
        IDiscordInteractionHandler? interactionHandler,
        DiscordRestClient rest,
        AttachmentDownloader downloader,
        IWebSocketConnectionProvider sockets,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        _options = options;
        _commands = commands;
        _messages = messageHandler;
        _interactions = interactionHandler;
        Rest = rest;
        _downloader = downloader;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<DiscordBot>();
        Gateway = new GatewayClient(options, rest.GetGatewayBotAsync, sockets, this, timeProvider,
            loggerFactory.CreateLogger<GatewayClient>());
    }

    /// <summary>
    /// Wires the bot on real sockets and HTTP; <paramref name="contentCheck"/> decides which attachments are images,
    /// <paramref name="apiHandler"/> replaces the HTTP stack if given.
    /// </summary>
    public static DiscordBot Create(
        DiscordClientOptions options,
        IReadOnlyList<ApplicationCommandProperties> commands,
        IDiscordMessageHandler? messageHandler,
        IDiscordInteractionHandler? interactionHandler,
        AttachmentContentCheck contentCheck,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        HttpMessageHandler? apiHandler = null)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        timeProvider ??= TimeProvider.System;
        // No HttpClient timeout: each attempt is timed by the REST client's pipeline (RequestTimeout, on the TimeProvider).
        var api = new HttpClient(apiHandler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var rest = new DiscordRestClient(options, new HttpClientRestRequestHandler(api), new RateLimitManager(timeProvider),
            timeProvider, loggerFactory.CreateLogger<DiscordRestClient>());
        var downloads = new HttpClient(AttachmentDownloader.CreateDefaultHandler()) { Timeout = TimeSpan.FromSeconds(30) };
        var downloader = new AttachmentDownloader(downloads, options, contentCheck, loggerFactory.CreateLogger<AttachmentDownloader>());
        return new DiscordBot(options, commands, messageHandler, interactionHandler, rest, downloader,
            new ClientWebSocketConnectionProvider(), timeProvider, loggerFactory);
    }

    /// <summary>The REST client.</summary>
    public DiscordRestClient Rest { get; }

    /// <summary>The gateway client (its statistics are useful in tests and health logs).</summary>
    public GatewayClient Gateway { get; }

    /// <summary>The application id, known after start.</summary>
    public string? ApplicationId { get; private set; }

    /// <summary>Interactions replayed after a resume older than this are ignored: Discord's callback window is 3 s.</summary>
    public static readonly TimeSpan InteractionCallbackWindow = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Raised (on the receive loop or a handler's thread, serialized) with the session and the sequence up to which
    /// every dispatch has been handled: a message once its handler returned (the worker has stored its job or decided
    /// to ignore it), any other event when it arrived. It is raised on every dispatch (so its time is recent) and when
    /// the handled sequence advances. Resuming from it (<see cref="GatewayClient.RestoreSession"/>) replays anything
    /// a handler had not finished. A handler cancelled by shutdown does not advance it.
    /// </summary>
    public event Action<GatewayCheckpoint>? Checkpoint;

    /// <summary>Handlers still running.</summary>
    public int HandlersInFlight => _inFlight.Count;

    /// <summary>
    /// Registers the commands, then runs the gateway until cancelled (throws <see cref="OperationCanceledException"/>)
    /// or stopped by a fatal close (<see cref="GatewayFatalException"/>). Running handlers get a short grace period.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        var application = await GetApplicationAsync(cancellationToken).ConfigureAwait(false);

        ApplicationId = application.Id;
        _botUserId ??= application.Bot?.Id;
        await RegisterCommandsAsync(application.Id, cancellationToken).ConfigureAwait(false);
        try
        {
            await Gateway.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DrainAsync().ConfigureAwait(false);
        }
    }

    private async Task<PartialApplication> GetApplicationAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(_options.Gateway.ReconnectBaseDelay, _options.Gateway.ReconnectMaxDelay, Random.Shared);
        for (var failures = 1; ; failures++)
        {
            try
            {
                return await Rest.GetCurrentApplicationAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DiscordRestException ex) when (ex.StatusCode == 401)
            {
                LogTokenRejected(_logger);
                throw new GatewayFatalException(null, "Discord rejected the bot token (HTTP 401).");
            }
            catch (Exception ex) when (ex is HttpRequestException or DiscordRestException { StatusCode: >= 500 }
                                           || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // Discord (or the network) being down at start is not a reason to give up: the worker keeps trying.
                var delay = backoff.Next(failures);
                LogStartRetry(_logger, ex, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task RegisterCommandsAsync(string applicationId, CancellationToken cancellationToken)
    {
        if (_commands.Count == 0)
        {
            return;
        }

        try
        {
            var registered = await Rest.BulkOverwriteApplicationCommandsAsync(applicationId, _commands,
                _options.CommandGuildId, cancellationToken).ConfigureAwait(false);
            LogCommandsRegistered(_logger, registered.Count, _options.CommandGuildId is null ? "globally" : "in the configured guild");
        }
        catch (DiscordRestException ex)
        {
            // The previous registration keeps working; a wrong body is a bug to fix, not a reason to go offline.
            LogCommandsFailed(_logger, ex);
        }
    }

    /// <inheritdoc />
    ValueTask IGatewayDispatchHandler.HandleDispatchAsync(GatewayDispatch dispatch, CancellationToken cancellationToken)
    {
        var session = Gateway.SessionId;
        var tracked = session is not null && dispatch.Sequence is not null;
        if (tracked)
        {
            Received(session!, dispatch.Sequence!.Value);
        }
        // A message whose handler started is handled when that handler returns; anything else is handled now.
        var started = false;
        try
        {
            started = Dispatch(dispatch, tracked ? session : null);
        }
        finally
        {
            if (tracked && !started)
            {
                Handled(session!, dispatch.Sequence!.Value);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Routes one dispatch; true when a message handler was started for it.</summary>
    private bool Dispatch(GatewayDispatch dispatch, string? session)
    {
        switch (dispatch.Type)
        {
            case "READY":
                var ready = dispatch.Data.Deserialize<ReadyEvent>(DiscordJson.Options)!;
                _botUserId = ready.User.Id;
                ApplicationId ??= ready.Application.Id;
                break;
            case "MESSAGE_CREATE" when _messages is not null:
                return OnMessage(dispatch.Data.Deserialize<DiscordMessage>(DiscordJson.Options)!, session, dispatch.Sequence);
            case "INTERACTION_CREATE" when _interactions is not null:
                var interaction = dispatch.Data.Deserialize<DiscordInteraction>(DiscordJson.Options)!;
                if (dispatch.Replayed && SnowflakeAge(interaction.Id) > InteractionCallbackWindow)
                {
                    LogStaleInteraction(_logger, interaction.Id);
                    break;
                }
                OnInteraction(interaction);
                break;
        }

        return false;
    }

    private TimeSpan SnowflakeAge(string id) =>
        ulong.TryParse(id, System.Globalization.CultureInfo.InvariantCulture, out var snowflake)
            ? _timeProvider.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds((long)(snowflake >> 22) + 1420070400000L)
            : TimeSpan.MaxValue;

    private void Received(string session, int sequence)
    {
        lock (_checkpointLock)
        {
            if (session != _checkpointSession)
            {
                _checkpointSession = session;
                _unhandled.Clear();
                _lastSeen = -1;
            }
            _unhandled.Add(sequence);
            _lastSeen = Math.Max(_lastSeen, sequence);
            Report(session);
        }
    }

    private void Handled(string session, int sequence)
    {
        lock (_checkpointLock)
        {
            if (session == _checkpointSession && _unhandled.Remove(sequence))
            {
                Report(session);
            }
        }
    }

    /// <summary>Raises <see cref="Checkpoint"/> for the handled prefix; called under the checkpoint lock.</summary>
    private void Report(string session)
    {
        var through = _unhandled.Count > 0 ? _unhandled.Min - 1 : _lastSeen;
        if (through < 1 || Gateway.ResumeGatewayUrl is not { } url || Checkpoint is not { } checkpoint)
        {
            return;
        }
        try
        {
            checkpoint(new GatewayCheckpoint(session, url, through));
        }
        catch (Exception ex)
        {
            LogCheckpointFailed(_logger, ex);
        }
    }

    private bool OnMessage(DiscordMessage message, string? session, int? sequence)
    {
        // Bots (including this one) and webhooks are never answered: two bots could otherwise talk forever.
        if (message.Author.Bot || message.WebhookId is not null || message.Author.Id == _botUserId || _botUserId is null)
        {
            LogIgnoredMessage(_logger, message.Id);
            return false;
        }

        var context = new DiscordMessageContext(message, _botUserId, Rest, _downloader, _options);
        Track(RunMessageAsync(message.Id, context, session, sequence));
        return session is not null;
    }

    private async Task RunMessageAsync(string id, DiscordMessageContext context, string? session, int? sequence)
    {
        var finished = await RunHandlerAsync(id, () => _messages!.HandleMessageAsync(context, _stopping)).ConfigureAwait(false);
        if (finished && session is not null && sequence is { } seq)
        {
            Handled(session, seq);
        }
    }

    private void OnInteraction(DiscordInteraction interaction)
    {
        if (interaction.Type != InteractionType.ApplicationCommand)
        {
            return;
        }

        var context = new DiscordInteractionContext(interaction, Rest, _downloader, _options, _timeProvider, _logger);
        context.StartAutoDefer();
        Track(RunInteractionAsync(context));
    }

    private async Task RunInteractionAsync(DiscordInteractionContext context)
    {
        await using (context.ConfigureAwait(false))
        {
            await RunHandlerAsync(context.Interaction.Id, () => _interactions!.HandleInteractionAsync(context, _stopping))
                .ConfigureAwait(false);
            // Not the stopping token: the answer to a running interaction should still go out during shutdown.
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await context.EnsureAnsweredAsync(InteractionFallbackText, grace.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a handler; false when shutdown cancelled it (its event may be unhandled).</summary>
    private async Task<bool> RunHandlerAsync(string id, Func<Task> handler)
    {
        await Task.Yield();
        try
        {
            await handler().ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down.
            return false;
        }
        catch (Exception ex)
        {
            LogHandlerFailed(_logger, ex, id);
            return true;
        }
    }

    private void Track(Task task)
    {
        _inFlight.TryAdd(task, 0);
        _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task DrainAsync()
    {
        var pending = _inFlight.Keys.ToArray();
        if (pending.Length == 0)
        {
            return;
        }

        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromSeconds(10), _timeProvider)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord unreachable at start; retrying in {DelayMs} ms")]
    private static partial void LogStartRetry(ILogger logger, Exception exception, long delayMs);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Discord rejected the bot token (HTTP 401): check Discord:BotToken. Not connecting.")]
    private static partial void LogTokenRejected(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord commands registered: {Count} {Scope}")]
    private static partial void LogCommandsRegistered(ILogger logger, int count, string scope);

    [LoggerMessage(Level = LogLevel.Error, Message = "Discord command registration failed; the previous commands stay")]
    private static partial void LogCommandsFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Discord message {MessageId} ignored (bot, webhook or own)")]
    private static partial void LogIgnoredMessage(ILogger logger, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord interaction {InteractionId} replayed after its 3 s callback window; ignored")]
    private static partial void LogStaleInteraction(ILogger logger, string interactionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Discord gateway checkpoint could not be saved")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Discord handler failed for {Id}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string id);
}
