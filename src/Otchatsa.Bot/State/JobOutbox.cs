using System.Globalization;
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
/// The accepted jobs and the polling offset per network: a job is written before the network is told it was received
/// (together with the next offset, in one transaction), marked done only after the reply was sent, and unique per
/// update, so nothing accepted is lost and nothing is answered twice. Thread-safe.
/// </summary>
public sealed class JobOutbox(StateDatabase database)
{
    private const int Pending = 0;
    private const int Done = 1;
    private const int Failed = 2;

    /// <summary>
    /// Stores new jobs and the next polling offset in one transaction and returns the jobs that were new (an update
    /// already stored, done or not, is skipped). Call before acknowledging the updates to the network.
    /// </summary>
    public IReadOnlyList<ChatJob> Accept(string network, IReadOnlyList<NewChatJob> jobs, long? nextOffset)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var now = database.Time.GetUtcNow();
        var accepted = database.Run(db =>
        {
            var accepted = new List<ChatJob>();
            using var tx = db.BeginTransaction();
            foreach (var job in jobs)
            {
                using var insert = db.CreateCommand();
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
                using var set = db.CreateCommand();
                set.Transaction = tx;
                set.CommandText = "INSERT INTO offsets(network, value) VALUES ($n, $v) ON CONFLICT(network) DO UPDATE SET value = MAX(value, $v)";
                set.Parameters.AddWithValue("$n", network);
                set.Parameters.AddWithValue("$v", offset);
                set.ExecuteNonQuery();
            }
            tx.Commit();
            return accepted;
        });
        ChatMetrics.Accepted(network, accepted.Count);
        return accepted;
    }

    /// <summary>The offset to poll from next (as last written by <see cref="Accept"/>), if one was stored.</summary>
    public long? GetOffset(string network) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT value FROM offsets WHERE network = $n";
        cmd.Parameters.AddWithValue("$n", network);
        return cmd.ExecuteScalar() is long value ? value : (long?)null;
    });

    /// <summary>Jobs accepted but not yet answered (after a crash or an aborted shutdown), oldest first.</summary>
    public IReadOnlyList<ChatJob> PendingJobs(string network) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
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
    });

    public void MarkDone(long jobId) => Finish(jobId, Done);

    /// <summary>How many of a job's reply messages were sent (0 when none).</summary>
    public int SentParts(long jobId) => Progress(jobId).Sent;

    /// <summary>
    /// How many of a job's reply messages were sent, and how many the reply had when they were (null when nothing was
    /// sent, or for a job stored before this was recorded).
    /// </summary>
    public (int Sent, int? Of) Progress(long jobId) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT sent_parts, reply_parts FROM jobs WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? ((int)reader.GetInt64(0), reader.IsDBNull(1) ? null : (int?)reader.GetInt64(1))
            : (0, null);
    });

    /// <summary>Records that the first <paramref name="parts"/> of a reply of <paramref name="of"/> messages were sent.</summary>
    public void SetSentParts(long jobId, int parts, int of) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE jobs SET sent_parts = $p, reply_parts = $of WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", jobId);
        cmd.Parameters.AddWithValue("$p", parts);
        cmd.Parameters.AddWithValue("$of", of);
        return cmd.ExecuteNonQuery();
    });

    /// <summary>Gives up on a job that failed for good (it is not resumed).</summary>
    public void MarkFailed(long jobId) => Finish(jobId, Failed);

    /// <summary>Number of jobs of <paramref name="network"/> in each state (pending, done, failed).</summary>
    public (int Pending, int Done, int Failed) Counts(string network) => database.Run(db =>
    {
        using var cmd = db.CreateCommand();
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
    });

    /// <summary>Forgets finished jobs older than <paramref name="age"/>; the network never redelivers that late.</summary>
    public int PurgeFinished(TimeSpan age)
    {
        var cutoff = (database.Time.GetUtcNow() - age).ToString("O", CultureInfo.InvariantCulture);
        return database.Run(db =>
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM jobs WHERE status <> 0 AND finished_at < $c";
            cmd.Parameters.AddWithValue("$c", cutoff);
            return cmd.ExecuteNonQuery();
        });
    }

    private void Finish(long jobId, int status)
    {
        var now = database.Time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        database.Run(db =>
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE jobs SET status = $s, finished_at = $t WHERE id = $id";
            cmd.Parameters.AddWithValue("$s", status);
            cmd.Parameters.AddWithValue("$t", now);
            cmd.Parameters.AddWithValue("$id", jobId);
            return cmd.ExecuteNonQuery();
        });
    }
}
