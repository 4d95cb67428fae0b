using Otchatsa.Conversation;

namespace Otchatsa.Bot.State;

/// <summary>Each chat's chosen reply language, kept across restarts. Thread-safe.</summary>
public sealed class ChatPreferenceStore(StateDatabase database) : IChatPreferences
{
    public ChatLanguage? GetLanguage(ChatKey chat) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT language FROM chat_prefs WHERE chat = $c";
        cmd.Parameters.AddWithValue("$c", chat.ToString());
        return cmd.ExecuteScalar() is string text && Enum.TryParse<ChatLanguage>(text, ignoreCase: true, out var lang) ? lang : (ChatLanguage?)null;
    });

    public void SetLanguage(ChatKey chat, ChatLanguage language) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "INSERT INTO chat_prefs(chat, language) VALUES ($c, $l) ON CONFLICT(chat) DO UPDATE SET language = $l";
        cmd.Parameters.AddWithValue("$c", chat.ToString());
        cmd.Parameters.AddWithValue("$l", language.ToString().ToLowerInvariant());
        return cmd.ExecuteNonQuery();
    });
}
