using System.Collections.Concurrent;

namespace Otchatsa.Conversation;

/// <summary>Per-chat settings that outlive a conversation turn (the reply language).</summary>
public interface IChatPreferences
{
    ChatLanguage? GetLanguage(ChatKey chat);

    void SetLanguage(ChatKey chat, ChatLanguage language);
}

/// <summary>Preferences kept in memory, for the console chat and tests.</summary>
public sealed class InMemoryChatPreferences : IChatPreferences
{
    private readonly ConcurrentDictionary<ChatKey, ChatLanguage> _languages = new();

    public ChatLanguage? GetLanguage(ChatKey chat) => _languages.TryGetValue(chat, out var lang) ? lang : null;

    public void SetLanguage(ChatKey chat, ChatLanguage language) => _languages[chat] = language;
}

public static class ChatLanguages
{
    /// <summary>Korean for a <c>ko</c>/<c>ko-KR</c> client language, English otherwise.</summary>
    public static ChatLanguage FromLanguageCode(string? code) =>
        code is not null && code.StartsWith("ko", StringComparison.OrdinalIgnoreCase) ? ChatLanguage.Ko : ChatLanguage.En;

    public static bool TryParse(string? text, out ChatLanguage language)
    {
        language = ChatLanguage.En;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "ko" or "kr" or "korean" or "한국어" or "한국말":
                language = ChatLanguage.Ko;
                return true;
            case "en" or "english" or "영어":
                return true;
            default:
                return false;
        }
    }
}
