using System.Globalization;
using Microsoft.Data.Sqlite;
using Otchatsa.Conversation;

namespace Otchatsa.Bot.State;

/// <summary>A chat request accepted for answering, as stored. <see cref="Payload"/> is the front end's own JSON.</summary>
public sealed record ChatJob(
    long Id,
    string Network,
    string UpdateKey,
    string ChatId,
    string Payload,
    DateTimeOffset AcceptedAt);

/// <summary>A job a front end wants stored: <see cref="UpdateKey"/> is the network's unique id of the incoming message.</summary>
public sealed record NewChatJob(string UpdateKey, string ChatId, string Payload);

/// <summary>
/// A gateway session a front end can resume after a restart: every event up to <see cref="Sequence"/> was handled
/// (its job stored or decided as ignored). <see cref="SavedAt"/> is when it was last written.
/// </summary>
public sealed record GatewaySession(string SessionId, string ResumeUrl, int Sequence, DateTimeOffset SavedAt);

/// <summary>
/// The bot's durable state in one SQLite file: accepted jobs (written before the network is told they were received,
/// marked done only after the reply was sent, unique per update so nothing is answered twice), the polling offset per
/// network, and per-chat preferences. Thread-safe (one connection behind a lock; every call is a short statement).
/// </summary>
public sealed class ChatStateStore : IChatPreferences, IDisposable
{
    private const int Pending = 0;
    private const int Done = 1;
    private const int Failed = 2;

    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    private ChatStateStore(SqliteConnection db, TimeProvider time)
    {
        _db = db;
        _time = time;
    }

    public static ChatStateStore Open(string path, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        Execute(db, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            PRAGMA busy_timeout=5000;
            CREATE TABLE IF NOT EXISTS jobs(
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                network TEXT NOT NULL,
                update_key TEXT NOT NULL,
                chat_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                status INTEGER NOT NULL DEFAULT 0,
                accepted_at TEXT NOT NULL,
                finished_at TEXT,
                UNIQUE(network, update_key));
            CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(network, status);
            CREATE TABLE IF NOT EXISTS offsets(network TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS chat_prefs(chat TEXT PRIMARY KEY, language TEXT);
            CREATE TABLE IF NOT EXISTS gateway_sessions(
                network TEXT PRIMARY KEY,
                session_id TEXT NOT NULL,
                resume_url TEXT NOT NULL,
                seq INTEGER NOT NULL,
                saved_at TEXT NOT NULL);
            """);
        if (!HasColumn(db, "jobs", "sent_parts"))
        {
            Execute(db, "ALTER TABLE jobs ADD COLUMN sent_parts INTEGER NOT NULL DEFAULT 0");
        }
        return new ChatStateStore(db, time ?? TimeProvider.System);
    }

    /// <summary>
    /// Stores new jobs and the next polling offset in one transaction and returns the jobs that were new (an update
    /// already stored, done or not, is skipped). Call before acknowledging the updates to the network.
    /// </summary>
    public IReadOnlyList<ChatJob> Accept(string network, IReadOnlyList<NewChatJob> jobs, long? nextOffset)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var accepted = new List<ChatJob>();
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            foreach (var job in jobs)
            {
                using var insert = _db.CreateCommand();
                insert.Transaction = tx;
                insert.CommandText = """
                    INSERT OR IGNORE INTO jobs(network, update_key, chat_id, payload, status, accepted_at)
                    VALUES ($n, $u, $c, $p, 0, $t) RETURNING id
                    """;
                insert.Parameters.AddWithValue("$n", network);
                insert.Parameters.AddWithValue("$u", job.UpdateKey);
                insert.Parameters.AddWithValue("$c", job.ChatId);
                insert.Parameters.AddWithValue("$p", job.Payload);
                insert.Parameters.AddWithValue("$t", now.ToString("O", CultureInfo.InvariantCulture));
                if (insert.ExecuteScalar() is long id)
                {
                    accepted.Add(new ChatJob(id, network, job.UpdateKey, job.ChatId, job.Payload, now));
                }
            }
            if (nextOffset is { } offset)
            {
                using var set = _db.CreateCommand();
                set.Transaction = tx;
                set.CommandText = "INSERT INTO offsets(network, value) VALUES ($n, $v) ON CONFLICT(network) DO UPDATE SET value = MAX(value, $v)";
                set.Parameters.AddWithValue("$n", network);
                set.Parameters.AddWithValue("$v", offset);
                set.ExecuteNonQuery();
            }
            tx.Commit();
        }
        ChatMetrics.Accepted(network, accepted.Count);
        return accepted;
    }

    /// <summary>Jobs accepted but not yet answered (after a crash or an aborted shutdown), oldest first.</summary>
    public IReadOnlyList<ChatJob> PendingJobs(string network)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT id, update_key, chat_id, payload, accepted_at FROM jobs WHERE network = $n AND status = 0 ORDER BY id";
            cmd.Parameters.AddWithValue("$n", network);
            using var reader = cmd.ExecuteReader();
            var jobs = new List<ChatJob>();
            while (reader.Read())
            {
                jobs.Add(new ChatJob(reader.GetInt64(0), network, reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture)));
            }
            return jobs;
        }
    }

    public void MarkDone(long jobId) => Finish(jobId, Done);

    /// <summary>
    /// How many messages of a job's reply were already sent: a reply is several messages (album, then text), and a
    /// retry or a restart after a partial send must not repeat the part the user already has.
    /// </summary>
    public int SentParts(long jobId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT sent_parts FROM jobs WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", jobId);
            return cmd.ExecuteScalar() is long parts ? (int)parts : 0;
        }
    }

    /// <summary>Records that the first <paramref name="parts"/> messages of a job's reply were sent.</summary>
    public void SetSentParts(long jobId, int parts)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE jobs SET sent_parts = $p WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", jobId);
            cmd.Parameters.AddWithValue("$p", parts);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Gives up on a job that failed for good (it is not resumed).</summary>
    public void MarkFailed(long jobId) => Finish(jobId, Failed);

    /// <summary>Number of jobs of <paramref name="network"/> in each state (pending, done, failed).</summary>
    public (int Pending, int Done, int Failed) Counts(string network)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT status, COUNT(*) FROM jobs WHERE network = $n GROUP BY status";
            cmd.Parameters.AddWithValue("$n", network);
            using var reader = cmd.ExecuteReader();
            int pending = 0, done = 0, failed = 0;
            while (reader.Read())
            {
                var count = reader.GetInt32(1);
                switch (reader.GetInt32(0))
                {
                    case Pending: pending = count; break;
                    case Done: done = count; break;
                    default: failed = count; break;
                }
            }
            return (pending, done, failed);
        }
    }

    /// <summary>The offset to poll from next, if one was stored.</summary>
    public long? GetOffset(string network)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT value FROM offsets WHERE network = $n";
            cmd.Parameters.AddWithValue("$n", network);
            return cmd.ExecuteScalar() is long value ? value : null;
        }
    }

    /// <summary>Saves the resumable point of <paramref name="network"/>'s gateway session, stamped now.</summary>
    public void SaveGatewaySession(string network, string sessionId, string resumeUrl, int sequence)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO gateway_sessions(network, session_id, resume_url, seq, saved_at) VALUES ($n, $s, $u, $q, $t)
                ON CONFLICT(network) DO UPDATE SET session_id = $s, resume_url = $u, seq = $q, saved_at = $t
                """;
            cmd.Parameters.AddWithValue("$n", network);
            cmd.Parameters.AddWithValue("$s", sessionId);
            cmd.Parameters.AddWithValue("$u", resumeUrl);
            cmd.Parameters.AddWithValue("$q", sequence);
            cmd.Parameters.AddWithValue("$t", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>The last saved gateway session of <paramref name="network"/>, if any.</summary>
    public GatewaySession? GetGatewaySession(string network)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT session_id, resume_url, seq, saved_at FROM gateway_sessions WHERE network = $n";
            cmd.Parameters.AddWithValue("$n", network);
            using var reader = cmd.ExecuteReader();
            return reader.Read()
                ? new GatewaySession(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                    DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture))
                : null;
        }
    }

    /// <summary>Forgets finished jobs older than <paramref name="age"/>; the network never redelivers that late.</summary>
    public int PurgeFinished(TimeSpan age)
    {
        var cutoff = (_time.GetUtcNow() - age).ToString("O", CultureInfo.InvariantCulture);
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM jobs WHERE status <> 0 AND finished_at < $c";
            cmd.Parameters.AddWithValue("$c", cutoff);
            return cmd.ExecuteNonQuery();
        }
    }

    public ChatLanguage? GetLanguage(ChatKey chat)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT language FROM chat_prefs WHERE chat = $c";
            cmd.Parameters.AddWithValue("$c", chat.ToString());
            return cmd.ExecuteScalar() is string text && Enum.TryParse<ChatLanguage>(text, ignoreCase: true, out var lang) ? lang : null;
        }
    }

    public void SetLanguage(ChatKey chat, ChatLanguage language)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO chat_prefs(chat, language) VALUES ($c, $l) ON CONFLICT(chat) DO UPDATE SET language = $l";
            cmd.Parameters.AddWithValue("$c", chat.ToString());
            cmd.Parameters.AddWithValue("$l", language.ToString().ToLowerInvariant());
            cmd.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _db.Dispose();
        }
    }

    private void Finish(long jobId, int status)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE jobs SET status = $s, finished_at = $t WHERE id = $id";
            cmd.Parameters.AddWithValue("$s", status);
            cmd.Parameters.AddWithValue("$t", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
            cmd.Parameters.AddWithValue("$id", jobId);
            cmd.ExecuteNonQuery();
        }
    }

    private static bool HasColumn(SqliteConnection db, string table, string column)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $c";
        cmd.Parameters.AddWithValue("$c", column);
        return cmd.ExecuteScalar() is long count && count > 0;
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
