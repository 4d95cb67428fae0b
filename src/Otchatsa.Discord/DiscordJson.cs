using System.Text.Json;
using System.Text.Json.Serialization;

namespace Otchatsa.Discord;

/// <summary>The one set of JSON options for Discord's wire format (snake_case, nulls omitted).</summary>
public static class DiscordJson
{
    /// <summary>Options used for every payload sent to and read from Discord.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
