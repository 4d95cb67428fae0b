using Microsoft.Data.Sqlite;

namespace Otchatsa.Bot.State;

/// <summary>
/// The worker's durable state file: one SQLite database, opened once, with its schema. The stores over it each own
/// one concern — <see cref="JobOutbox"/> (accepted jobs and the polling offsets), <see cref="ChatPreferenceStore"/>
/// (per-chat language), <see cref="GatewaySessionStore"/> (resumable gateway sessions). Thread-safe: one connection
/// behind one lock, every call a short statement or transaction.
/// </summary>
public sealed class StateDatabase : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly Lock _lock = new();

    private StateDatabase(SqliteConnection db, TimeProvider time)
    {
        _db = db;
        Time = time;
    }

    /// <summary>The clock the stores stamp their rows with.</summary>
    public TimeProvider Time { get; }

    /// <summary>
    /// Opens (or creates) the state file at <paramref name="path"/> and brings its schema up to date. A file that is
    /// not a SQLite database, or one that stays locked, throws <see cref="SqliteException"/>.
    /// </summary>
    public static StateDatabase Open(string path, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            db.Open();
            Migrate(db);
        }
        catch
        {
            db.Dispose();
            throw;
        }
        return new StateDatabase(db, time ?? TimeProvider.System);
    }

    /// <summary>Runs <paramref name="work"/> on the connection, alone.</summary>
    internal T Run<T>(Func<SqliteConnection, T> work)
    {
        lock (_lock)
        {
            return work(_db);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _db.Dispose();
        }
    }

    private static void Migrate(SqliteConnection db)
    {
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
        if (!HasColumn(db, "jobs", "reply_parts"))
        {
            // How many parts the reply had when its first part was sent (null for jobs stored before this column).
            Execute(db, "ALTER TABLE jobs ADD COLUMN reply_parts INTEGER");
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
