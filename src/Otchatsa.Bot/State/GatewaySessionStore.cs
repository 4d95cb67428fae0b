using System.Globalization;

namespace Otchatsa.Bot.State;

/// <summary>
/// A gateway session a front end can resume after a restart: every event up to <see cref="Sequence"/> was handled
/// (its job stored or decided as ignored). <see cref="SavedAt"/> is when it was last written.
/// </summary>
public sealed record GatewaySession(string SessionId, string ResumeUrl, int Sequence, DateTimeOffset SavedAt);

/// <summary>The last resumable gateway session per network. Thread-safe.</summary>
public sealed class GatewaySessionStore(StateDatabase database)
{
    /// <summary>Saves the resumable point of <paramref name="network"/>'s gateway session, stamped now.</summary>
    public void Save(string network, string sessionId, string resumeUrl, int sequence)
    {
        var now = database.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        database.Run(db =>
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO gateway_sessions(network, session_id, resume_url, seq, saved_at) VALUES ($n, $s, $u, $q, $t)
                ON CONFLICT(network) DO UPDATE SET session_id = $s, resume_url = $u, seq = $q, saved_at = $t
                """;
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$s", sessionId);
            cmd.Parameters.AddWithValue("$u", resumeUrl);
            cmd.Parameters.AddWithValue("$q", sequence);
            cmd.Parameters.AddWithValue("$t", now);
            return cmd.ExecuteNonQuery();
        });
    }

    /// <summary>The last saved gateway session of <paramref name="network"/>, if any.</summary>
    public GatewaySession? Get(string network) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT session_id, resume_url, seq, saved_at FROM gateway_sessions WHERE network = $n";
        cmd.Parameters.AddWithValue("$n", network);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? new GatewaySession(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture))
            : null;
    });
}
