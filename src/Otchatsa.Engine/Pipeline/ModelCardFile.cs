using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Otchatsa.Pipeline;

/// <summary>
/// How a model card is kept on disk (<c>models/*.card.json</c>): snake_case JSON, indented, non-ASCII text as is, null
/// fields left out, enums by name, one trailing newline. Every card reads and writes through here, so they all look alike.
/// </summary>
public static class ModelCardFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads the card at <paramref name="path"/>; <paramref name="what"/> names the card in the error (e.g. "an int8 model card").</summary>
    public static T Load<T>(string path, string what) where T : class =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"'{path}' is not {what}.");

    public static void Save<T>(T card, string path) => File.WriteAllText(path, JsonSerializer.Serialize(card, Json) + "\n");
}
