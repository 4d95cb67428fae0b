using System.Text.Json;
using System.Text.Json.Serialization;

namespace Otchatsa.Bot.Jobs;

/// <summary>How front ends serialise their job payloads into the job table: web defaults, enums by name, no nulls.</summary>
internal static class JobPayloadJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };
}
