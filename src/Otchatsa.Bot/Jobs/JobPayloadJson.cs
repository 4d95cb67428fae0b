using System.Text.Json;
using System.Text.Json.Serialization;

namespace Otchatsa.Bot.Jobs;

/// <summary>
/// How front ends serialise their job payloads into the job table: web defaults, enums by name, no nulls. The one
/// place the payload format is decided; stored jobs from earlier versions must keep loading, so it must not change.
/// </summary>
internal static class JobPayloadJson
{
    private static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The payload as stored in the job table.</summary>
    public static string Serialize<T>(T payload) => JsonSerializer.Serialize(payload, Options);

    /// <summary>Reads a stored payload; <paramref name="what"/> names it in the error ("Telegram", "Discord").</summary>
    /// <exception cref="JsonException">The payload is malformed or JSON <c>null</c>.</exception>
    public static T Deserialize<T>(string json, string what) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"Empty {what} job payload.");
}
