using System.Text.Json.Serialization;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.Jobs;

namespace Otchatsa.Bot.Discord;

/// <summary>What to do for one Discord message or interaction.</summary>
public enum DiscordAction
{
    AnalyzePhoto,
    Command,
    Text,
    NotAnImage,
    TooLarge,
    Busy,
}

/// <summary>The photo to analyse, as Discord described it (the worker downloads it; the signed CDN URL lasts hours).</summary>
public sealed record DiscordPhoto(string Id, string Filename, string Url, long Size, string? ContentType);

/// <summary>
/// A routed Discord message or interaction, as stored in the job table (JSON). A message job is answered with a reply
/// in <see cref="ChannelId"/>; an interaction job (<see cref="InteractionToken"/> set) with PATCH @original. The
/// interaction token is a 15-minute secret: it lives only in the local state file and is never logged.
/// </summary>
public sealed record DiscordRequest(
    DiscordAction Action,
    string ChannelId,
    string UserId,
    string? GuildId = null,
    string? MessageId = null,
    string? ApplicationId = null,
    string? InteractionId = null,
    string? InteractionToken = null,
    DiscordPhoto? Photo = null,
    string? CommandName = null,
    string? CommandArgument = null,
    double? RetryAfterSeconds = null)
{
    /// <summary>Answered through an interaction (PATCH @original) rather than a channel message.</summary>
    [JsonIgnore]
    public bool IsInteraction => InteractionToken is not null;

    /// <summary>The job's unique key: one job per message or interaction, however often the gateway replays it.</summary>
    [JsonIgnore]
    public string UpdateKey => IsInteraction ? "i:" + InteractionId : "m:" + MessageId;

    public string ToJson() => JobPayloadJson.Serialize(this);

    public static DiscordRequest FromJson(string json) => JobPayloadJson.Deserialize<DiscordRequest>(json, "Discord");

    // A record's generated ToString would print the interaction token; nothing should ever log it.
    public override string ToString() => $"DiscordRequest {{ Action = {Action}, Key = {UpdateKey} }}";
}
