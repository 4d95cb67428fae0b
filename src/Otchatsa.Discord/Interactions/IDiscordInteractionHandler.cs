namespace Otchatsa.Discord.Interactions;

/// <summary>Answers application command interactions (slash and context-menu commands).</summary>
public interface IDiscordInteractionHandler
{
    /// <summary>
    /// Handles one interaction. Call <see cref="DiscordInteractionContext.DeferAsync"/> before slow work; if the
    /// handler returns or throws without answering, a short apology is sent so nothing is left unanswered.
    /// </summary>
    Task HandleInteractionAsync(DiscordInteractionContext context, CancellationToken cancellationToken);
}
