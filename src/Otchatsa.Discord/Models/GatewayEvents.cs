namespace Otchatsa.Discord.Models;

/// <summary>The READY dispatch (only what resuming and routing need).</summary>
public sealed record ReadyEvent
{
    public int V { get; init; }
    public DiscordUser User { get; init; } = new();
    public string SessionId { get; init; } = "";
    public string ResumeGatewayUrl { get; init; } = "";
    public PartialApplication Application { get; init; } = new();
}

/// <summary>An application id (READY, <c>GET /applications/@me</c>).</summary>
public sealed record PartialApplication
{
    public string Id { get; init; } = "";
    public DiscordUser? Bot { get; init; }
}

/// <summary>The answer of <c>GET /gateway/bot</c>.</summary>
public sealed record GatewayBotInfo
{
    public string Url { get; init; } = "";
    public int Shards { get; init; } = 1;
    public SessionStartLimit SessionStartLimit { get; init; } = new();
}

/// <summary>How many Identify calls are left and how many may run at once (per 5 s).</summary>
public sealed record SessionStartLimit
{
    public int Total { get; init; } = 1000;
    public int Remaining { get; init; } = 1000;

    /// <summary>Milliseconds until <see cref="Remaining"/> resets.</summary>
    public long ResetAfter { get; init; }

    public int MaxConcurrency { get; init; } = 1;
}
