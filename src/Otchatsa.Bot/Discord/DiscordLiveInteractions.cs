using System.Collections.Concurrent;
using Otchatsa.Discord.Interactions;

namespace Otchatsa.Bot.Discord;

/// <summary>
/// Interactions whose photo job is in the shared queue while their handler waits. The job handler answers through
/// the live context (so the library knows the interaction was answered and sends no fallback) and then releases the
/// waiting handler. After a restart nothing is live, and the job handler PATCHes @original directly.
/// </summary>
public sealed class DiscordLiveInteractions
{
    private readonly ConcurrentDictionary<long, Entry> _live = new();

    /// <summary>Interactions waiting for their job.</summary>
    public int Count => _live.Count;

    /// <summary>Registers the context of job <paramref name="jobId"/>; the returned task completes when it was answered.</summary>
    public Task Register(long jobId, DiscordInteractionContext context)
    {
        var entry = new Entry(context, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _live[jobId] = entry;
        return entry.Answered.Task;
    }

    /// <summary>The live context of a job, if its handler is still waiting.</summary>
    public DiscordInteractionContext? Find(long jobId) => _live.TryGetValue(jobId, out var entry) ? entry.Context : null;

    /// <summary>Releases the waiting handler.</summary>
    public void Complete(long jobId)
    {
        if (_live.TryRemove(jobId, out var entry))
        {
            entry.Answered.TrySetResult();
        }
    }

    /// <summary>Forgets a job whose handler stopped waiting (shutdown or timeout).</summary>
    public void Forget(long jobId) => _live.TryRemove(jobId, out _);

    private sealed record Entry(DiscordInteractionContext Context, TaskCompletionSource Answered);
}
