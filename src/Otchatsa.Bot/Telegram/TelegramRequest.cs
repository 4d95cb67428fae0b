using System.Text.Json.Serialization;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.Jobs;

namespace Otchatsa.Bot.Telegram;

/// <summary>What to do for one Telegram update.</summary>
public enum TelegramAction
{
    AnalyzePhoto,
    Command,
    Text,
    NotAnImage,
    TooLarge,
    Busy,
}

/// <summary>
/// A routed Telegram update, as stored in the job table (JSON). Holds only what the answer needs: file ids are
/// downloaded by the worker, not at intake, so accepting an update is cheap.
/// </summary>
public sealed record TelegramRequest(
    TelegramAction Action,
    long ChatId,
    long UserId,
    int MessageId,
    bool IsGroup,
    string? LanguageCode = null,
    string? FileId = null,
    long? FileSize = null,
    string? CommandName = null,
    string? CommandArgument = null,
    double? RetryAfterSeconds = null)
{
    public string ToJson() => JobPayloadJson.Serialize(this);

    public static TelegramRequest FromJson(string json) => JobPayloadJson.Deserialize<TelegramRequest>(json, "Telegram");
}
