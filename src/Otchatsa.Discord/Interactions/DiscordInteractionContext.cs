using System.Text.Json;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Messages;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;

namespace Otchatsa.Discord.Interactions;

/// <summary>How far an interaction has been answered.</summary>
public enum InteractionResponseState
{
    /// <summary>Nothing sent yet; the 3 s deadline is running.</summary>
    None,

    /// <summary>Type 5 sent; the answer goes to PATCH @original.</summary>
    Deferred,

    /// <summary>The answer is out (type 4 or PATCH @original).</summary>
    Answered,
}

/// <summary>
/// One application command interaction and its responder. <see cref="RespondAsync"/> does the right thing for the
/// current state (callback type 4, PATCH @original after a deferral, follow-up after an answer); if the handler has
/// not answered after <see cref="DiscordClientOptions.AutoDeferAfter"/>, the interaction is deferred for it.
/// </summary>
public sealed partial class DiscordInteractionContext : IAsyncDisposable
{
    private readonly DiscordRestClient _rest;
    private readonly AttachmentDownloader _downloader;
    private readonly DiscordClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ITimer? _autoDefer;
    private InteractionResponseState _state;

    internal DiscordInteractionContext(
        DiscordInteraction interaction,
        DiscordRestClient rest,
        AttachmentDownloader downloader,
        DiscordClientOptions options,
        TimeProvider timeProvider,
        ILogger logger)
    {
        Interaction = interaction;
        _rest = rest;
        _downloader = downloader;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The raw interaction.</summary>
    public DiscordInteraction Interaction { get; }

    /// <summary>The command name (<c>style</c>, <c>Find similar style</c>, …).</summary>
    public string CommandName => Interaction.Data?.Name ?? "";

    /// <summary>Slash command or context-menu command.</summary>
    public ApplicationCommandType CommandType => Interaction.Data?.Type ?? ApplicationCommandType.ChatInput;

    /// <summary>How far the interaction has been answered.</summary>
    public InteractionResponseState State => _state;

    /// <summary>For the message context-menu command: the message it was used on.</summary>
    public DiscordMessage? TargetMessage =>
        Interaction.Data is { TargetId: { } id, Resolved.Messages: { } messages } && messages.TryGetValue(id, out var m) ? m : null;

    /// <summary>A STRING option's value.</summary>
    public string? GetString(string optionName) =>
        Option(optionName) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    /// <summary>An ATTACHMENT option, resolved.</summary>
    public DiscordAttachment? GetAttachment(string optionName) =>
        Option(optionName) is { ValueKind: JsonValueKind.String } v
        && Interaction.Data?.Resolved?.Attachments is { } attachments
        && attachments.TryGetValue(v.GetString()!, out var attachment)
            ? attachment
            : null;

    /// <summary>Downloads an image attachment with the allow-list, size cap and sniffing.</summary>
    public Task<DownloadedImage> DownloadAsync(DiscordAttachment attachment, CancellationToken cancellationToken) =>
        _downloader.DownloadImageAsync(attachment, cancellationToken);

    /// <summary>Sends type 5 (deferred) unless something was already sent.</summary>
    public async Task DeferAsync(bool ephemeral, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await DeferCoreAsync(ephemeral, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Answers: type 4 if nothing was sent, PATCH @original after a deferral, a follow-up after that.</summary>
    public async Task RespondAsync(DiscordReply reply, CancellationToken cancellationToken)
    {
        var composed = ReplyComposer.Compose(reply, _options.ReplyLayout);
        var message = composed.Message with { AllowedMentions = AllowedMentions.None };
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (_state)
            {
                case InteractionResponseState.None:
                    await _rest.CreateInteractionResponseAsync(Interaction.Id, Interaction.Token,
                        new InteractionResponse(InteractionCallbackType.ChannelMessageWithSource, message),
                        composed.Files, cancellationToken).ConfigureAwait(false);
                    break;
                case InteractionResponseState.Deferred:
                    // Ephemerality was fixed by the deferral; the flag may not change on edit.
                    await _rest.EditOriginalInteractionResponseAsync(Interaction.ApplicationId, Interaction.Token,
                        message with { Flags = message.Flags & ~MessageFlags.Ephemeral }, composed.Files, cancellationToken)
                        .ConfigureAwait(false);
                    break;
                default:
                    await _rest.CreateFollowupMessageAsync(Interaction.ApplicationId, Interaction.Token, message,
                        composed.Files, cancellationToken).ConfigureAwait(false);
                    break;
            }

            _state = InteractionResponseState.Answered;
        }
        finally
        {
            _gate.Release();
        }
    }

    internal void StartAutoDefer()
    {
        _autoDefer = _timeProvider.CreateTimer(
            static state => _ = ((DiscordInteractionContext)state!).AutoDeferAsync(),
            this, _options.AutoDeferAfter, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Makes sure the user is not left with "The application did not respond".</summary>
    internal async Task EnsureAnsweredAsync(string fallbackText, CancellationToken cancellationToken)
    {
        if (_state == InteractionResponseState.Answered)
        {
            return;
        }

        try
        {
            await RespondAsync(new DiscordReply { Text = fallbackText, Ephemeral = true }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DiscordRestException or HttpRequestException or OperationCanceledException)
        {
            LogAnswerFailed(_logger, ex, CommandName);
        }
    }

    private async Task AutoDeferAsync()
    {
        if (!await _gate.WaitAsync(0).ConfigureAwait(false))
        {
            return; // a response is being sent right now
        }

        try
        {
            if (_state == InteractionResponseState.None)
            {
                LogAutoDefer(_logger, CommandName, (long)_options.AutoDeferAfter.TotalMilliseconds);
                await DeferCoreAsync(ephemeral: false, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is DiscordRestException or HttpRequestException)
        {
            LogAnswerFailed(_logger, ex, CommandName);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DeferCoreAsync(bool ephemeral, CancellationToken cancellationToken)
    {
        if (_state != InteractionResponseState.None)
        {
            return;
        }

        await _rest.CreateInteractionResponseAsync(Interaction.Id, Interaction.Token,
            new InteractionResponse(InteractionCallbackType.DeferredChannelMessageWithSource,
                ephemeral ? new MessageProperties { Flags = MessageFlags.Ephemeral } : null),
            null, cancellationToken).ConfigureAwait(false);
        _state = InteractionResponseState.Deferred;
    }

    private JsonElement? Option(string name) =>
        Interaction.Data?.Options.FirstOrDefault(o => o.Name == name)?.Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_autoDefer is not null)
        {
            await _autoDefer.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord /{Command}: no answer after {Ms} ms, deferring")]
    private static partial void LogAutoDefer(ILogger logger, string command, long ms);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Discord interaction {Command} could not be answered")]
    private static partial void LogAnswerFailed(ILogger logger, Exception exception, string command);
}
