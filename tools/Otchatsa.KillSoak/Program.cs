// Kill run: the real worker (src/Otchatsa.Bot) as a separate process against the loopback Bot API and the loopback
// Discord, killed with SIGKILL (or stopped with SIGTERM, --stop term|mixed) at seeded random moments and restarted,
// while photos arrive on both networks, also while the worker is down. At the end
// it counts, per photo, what each network received: Telegram albums and texts per update, Discord messages per
// request. Loopback only; bounded by --minutes. Exit code 0 when nothing sent was lost and every graceful stop exited 0,
// 1 otherwise, 2 for bad use.
//   otchatsa demo        # builds index/demo and index/demo-catalog/query.png
//   dotnet build src/Otchatsa.Bot -c Release
//   dotnet run --project tools/Otchatsa.KillSoak -c Release -- [--photos 120] [--seed 1] [--minutes 10]
//       [--index index/demo] [--query index/demo-catalog/query.png] [--worker PATH] [--json out.json]
//       [--min-uptime 1] [--max-uptime 8] [--stop kill|term|mixed (kill)] [--keep (state file and worker log)]
//       [--log-level Warning (Otchatsa.*)]
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Otchatsa.FakeDiscord;
using Otchatsa.FakeTelegram;

var photoCount = (int)Arg("--photos", 120);
var seed = (int)Arg("--seed", 1);
var minutes = Arg("--minutes", 10);
var minUp = Arg("--min-uptime", 1.0);
var maxUp = Arg("--max-uptime", 8.0);
var indexDir = Path.GetFullPath(Text("--index") ?? "index/demo");
var queryPath = Path.GetFullPath(Text("--query") ?? Path.Combine(Path.GetDirectoryName(indexDir)!, "demo-catalog", "query.png"));
var workerPath = Path.GetFullPath(Text("--worker") ?? "src/Otchatsa.Bot/bin/Release/net10.0/linux-x64/Otchatsa.Bot");
var jsonOut = Text("--json");
var stopMode = Text("--stop") ?? "kill";
if (stopMode is not ("kill" or "term" or "mixed"))
{
    Console.Error.WriteLine($"otchatsa-killsoak: --stop must be kill, term or mixed, not '{stopMode}'.");
    return 2;
}
foreach (var (what, path, fix) in new[]
{
    ("index", Path.Combine(indexDir, "index.json"), "run 'otchatsa demo' first"),
    ("query photo", queryPath, "run 'otchatsa demo' first"),
    ("worker", workerPath, "run 'dotnet build src/Otchatsa.Bot -c Release' first"),
})
{
    if (!File.Exists(path))
    {
        Console.Error.WriteLine($"otchatsa-killsoak: no {what} at {path}; {fix}.");
        return 2;
    }
}

var random = new Random(seed);
var photo = await File.ReadAllBytesAsync(queryPath);
var stateDir = Path.Combine(Path.GetTempPath(), "otchatsa-killsoak-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(stateDir);
var dbPath = Path.Combine(stateDir, "bot.db");
var logPath = Path.Combine(stateDir, "worker.log");
using var log = new StreamWriter(logPath) { AutoFlush = true };
var logLock = new Lock();
var logClosed = false;

await using var telegram = await FakeTelegramApi.StartAsync();
await using var discord = await FakeDiscordServer.StartAsync();
discord.HeartbeatIntervalMs = 1000;
var alice = FakeEvents.User("600000000000000009", "alice");
var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(minutes);
var clock = Stopwatch.StartNew();

var telegramSent = new List<int>();              // source message ids
var discordSent = new List<(string Id, string Channel, long Ticks)>();
var kills = new List<long>();                     // UTC ticks of each SIGKILL
var terms = new List<long>();                     // UTC ticks of each SIGTERM that stopped a run (not the last one)
var badExits = new List<int>();                   // exit codes of graceful stops other than 0 (and 143, below)
var termsDuringStart = 0;                         // SIGTERMs that ended a run still starting (exit code 143)
var startTicks = new List<long>();                // UTC ticks of each worker start
var commits = new List<Commit>();                 // the worker's "part k sent and recorded" lines (under logLock)
var jobLines = new List<(long Chat, string Line)>(); // every Telegram job log line, by chat (under logLock)
var starts = 0;
var dispatchedWhileDown = 0;                      // Discord events sent while no worker connection was live
var lastDispatch = DateTime.UtcNow;

Process StartWorker()
{
    var info = new ProcessStartInfo(workerPath)
    {
        UseShellExecute = false,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        WorkingDirectory = stateDir,
    };
    var env = info.Environment;
    env["DOTNET_ENVIRONMENT"] = "Production";
    env["Otchatsa__IndexPath"] = indexDir;
    env["Otchatsa__StatePath"] = dbPath;
    env["Otchatsa__RateLimit__UserBurst"] = "100000";
    env["Otchatsa__RateLimit__ChatBurst"] = "100000";
    env["Telegram__Enabled"] = "true";
    env["Telegram__BotToken"] = FakeTelegramApi.Token;
    env["Telegram__ApiBaseUrl"] = telegram.BaseUrl;
    env["Telegram__PollTimeout"] = "00:00:01";
    env["Telegram__InitialBackoff"] = "00:00:00.200";
    env["Telegram__MaxBackoff"] = "00:00:02";
    env["Discord__Enabled"] = "true";
    env["Discord__BotToken"] = FakeDiscordServer.Token;
    env["Discord__ApiBaseUrl"] = discord.ApiBaseUrl.ToString();
    env["Discord__AttachmentHosts__0"] = "127.0.0.1";
    env["Discord__RetryBaseDelay"] = "00:00:00.100";
    env["Discord__Gateway__ReconnectBaseDelay"] = "00:00:00.200";
    env["Discord__Gateway__ReconnectMaxDelay"] = "00:00:02";
    env["Logging__LogLevel__Default"] = "Warning";
    env["Logging__LogLevel__Otchatsa"] = Text("--log-level") ?? "Warning";
    // Each reply part's commit, timestamped: matched below to the fake's record of the request.
    env["Logging__LogLevel__Otchatsa.Bot.Telegram.TelegramJobHandler"] = "Debug";
    env["Logging__Console__FormatterName"] = "simple";
    env["Logging__Console__FormatterOptions__SingleLine"] = "true";
    env["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
    env["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true";
    env["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
    var process = Process.Start(info)!;
    var n = ++starts;
    startTicks.Add(DateTime.UtcNow.Ticks);
    void Write(string? line)
    {
        if (line is not null)
        {
            lock (logLock)
            {
                if (!logClosed)
                {
                    log.WriteLine($"[run {n}] {line}");
                }
                if (CommitLine().Match(line) is { Success: true } m)
                {
                    var at = DateTime.UtcNow.Date + TimeSpan.ParseExact(m.Groups[1].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
                    commits.Add(new Commit(n, at.Ticks, long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                        long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture), line));
                }
                if (JobLine().Match(line) is { Success: true } j)
                {
                    jobLines.Add((long.Parse(j.Groups[1].Value, CultureInfo.InvariantCulture), $"[run {n}] {line}"));
                }
            }
        }
    }
    process.OutputDataReceived += (_, e) => Write(e.Data);
    process.ErrorDataReceived += (_, e) => Write(e.Data);
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

var producer = Task.Run(async () =>
{
    var rng = new Random(seed + 1);
    for (var i = 0; i < photoCount && DateTime.UtcNow < deadline; i++)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(100 + rng.Next(500)));
        if (i % 2 == 0)
        {
            var chat = 10_000 + i;
            var message = telegram.PhotoMessage(chat, chat, photo);
            telegram.Enqueue(message);
            lock (telegramSent)
            {
                telegramSent.Add(message.Id);
            }
        }
        else
        {
            // Discord delivers events to a session, not to a process: while the worker is down (killed without a close
            // frame, or stopped with the resumable 4000) the session keeps them and the next run's resume replays them.
            // Only before the first READY is there no session to deliver to.
            while (!discord.SessionActive && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            var channel = (700_000_000_000_000_000L + i).ToString(CultureInfo.InvariantCulture);
            var url = discord.AddCdnFile($"attachments/{FakeEvents.NextId()}/look.png", photo, "image/png");
            var message = FakeEvents.Message(channel, null, alice, "what style?",
                attachments: [FakeEvents.Attachment(FakeEvents.NextId(), "look.png", url, photo.Length, "image/png")]);
            if (!discord.HasLiveConnection)
            {
                dispatchedWhileDown++; // only this task writes it; read after it ends
            }
            await discord.DispatchAsync("MESSAGE_CREATE", message);
            lock (discordSent)
            {
                discordSent.Add(((string)message["id"]!, channel, DateTime.UtcNow.Ticks));
            }
        }
        lastDispatch = DateTime.UtcNow;
    }
});

bool AllDone()
{
    if (!producer.IsCompleted || DateTime.UtcNow - lastDispatch < TimeSpan.FromSeconds(5))
    {
        return false;
    }
    var answered = telegram.Calls.Where(c => c.Ok && c.Method == "sendMessage").Select(ReplyTo).ToHashSet();
    return telegramSent.All(answered.Contains) && PendingJobs() == 0;
}

int PendingJobs()
{
    if (!File.Exists(dbPath))
    {
        return -1;
    }
    using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
    db.Open();
    using var cmd = db.CreateCommand();
    cmd.CommandText = "SELECT COUNT(*) FROM jobs WHERE status = 0";
    return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
}

HashSet<string> StoredDiscordKeys()
{
    using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
    db.Open();
    using var cmd = db.CreateCommand();
    cmd.CommandText = "SELECT update_key FROM jobs WHERE network = 'discord'";
    using var reader = cmd.ExecuteReader();
    var keys = new HashSet<string>(StringComparer.Ordinal);
    while (reader.Read())
    {
        keys.Add(reader.GetString(0));
    }
    return keys;
}

// Kill at random uptimes (startup included) while photos keep arriving; then let the last run finish everything.
var worker = StartWorker();
while (!producer.IsCompleted && DateTime.UtcNow < deadline)
{
    var uptime = TimeSpan.FromSeconds(minUp + (maxUp - minUp) * random.NextDouble());
    await Task.WhenAny(Task.Delay(uptime), worker.WaitForExitAsync());
    if (worker.HasExited)
    {
        Console.Error.WriteLine($"otchatsa-killsoak: the worker exited by itself (code {worker.ExitCode}); see {logPath}");
        return 1;
    }
    if (stopMode == "term" || (stopMode == "mixed" && random.NextDouble() < 0.5))
    {
        // SIGTERM, as systemd stops it before a restart: the queue drains, the gateway closes resumably.
        terms.Add(DateTime.UtcNow.Ticks);
        _ = kill(worker.Id, 15);
        if (!worker.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            Console.Error.WriteLine($"otchatsa-killsoak: the worker did not stop within 60 s of SIGTERM; see {logPath}");
            worker.Kill();
        }
        await worker.WaitForExitAsync();
        if (worker.ExitCode == 143)
        {
            // Killed by the signal itself: it came before the host had set up its handler (still starting, nothing
            // accepted yet). systemd counts that as a clean stop too.
            termsDuringStart++;
        }
        else if (worker.ExitCode != 0)
        {
            badExits.Add(worker.ExitCode);
        }
    }
    else
    {
        worker.Kill(); // SIGKILL: no shutdown code runs
        kills.Add(DateTime.UtcNow.Ticks);
        await worker.WaitForExitAsync();
    }
    worker.Dispose();
    worker = StartWorker();
}
while (!AllDone() && DateTime.UtcNow < deadline)
{
    await Task.Delay(200);
}
var finished = AllDone();
_ = kill(worker.Id, 15); // SIGTERM: the last run stops gracefully
if (!worker.WaitForExit(TimeSpan.FromSeconds(30)))
{
    worker.Kill();
}
await producer;

// Count per photo.
static int ReplyTo(RecordedCall call) => call.Json("reply_parameters") is JsonNode r ? (int)r["message_id"]! : 0;
var calls = telegram.Calls;
var albums = calls.Where(c => c.Ok && c.Method == "sendMediaGroup").GroupBy(ReplyTo).ToDictionary(g => g.Key, g => g.ToList());
var texts = calls.Where(c => c.Ok && c.Method == "sendMessage").GroupBy(ReplyTo).ToDictionary(g => g.Key, g => g.ToList());
var tgLost = telegramSent.Count(id => !texts.ContainsKey(id));
var tgDupAlbums = albums.Values.Sum(a => Math.Max(0, a.Count - 1));
var tgDupTexts = texts.Values.Sum(t => Math.Max(0, t.Count - 1));
var tgApologies = texts.Values.Sum(t => t.Count(c => c.Text.Contains("went wrong", StringComparison.Ordinal)));
var tgAnswers = texts.Values.Sum(t => t.Count(c => c.Text.Contains("Malls with this vibe", StringComparison.Ordinal) || c.Text.Contains("no matching malls", StringComparison.Ordinal)));

// For each repeated part: how long before the SIGKILL of the worker that sent it its first copy was recorded by the
// fake. Negative: recorded after that kill — the request was already written when the worker died, and the fake (as
// Telegram would) still created the message. The sender is the run whose getMe came last before the copy: when a kill
// lies between that getMe and the copy, that run was already dead, and measuring to the next kill would report the
// next run's uptime instead (the "3.2 s" of an earlier run).
List<double> WindowsMs(IEnumerable<List<RecordedCall>> groups) => groups.Where(g => g.Count > 1)
    .Select(g =>
    {
        var copy = g[0].Ticks;
        var senderStarted = calls.Where(c => c.Method == "getMe" && c.Ticks <= copy).Select(c => c.Ticks).DefaultIfEmpty(0).Max();
        var killedBefore = kills.Where(k => k <= copy).DefaultIfEmpty(0).Max();
        return killedBefore > senderStarted
            ? (killedBefore - copy) / 10_000.0
            : kills.Where(k => k >= copy).Select(k => (k - copy) / 10_000.0).DefaultIfEmpty(double.NaN).Min();
    })
    .ToList();
var albumWindows = WindowsMs(albums.Values);
var textWindows = WindowsMs(texts.Values);

var stored = StoredDiscordKeys();
var created = discord.CreatedMessages.GroupBy(m => m.ReferencedMessageId ?? "").ToDictionary(g => g.Key, g => g.Count());
var posts = discord.Requests.Count(r => r.Method == "POST" && r.Path.StartsWith("channels/", StringComparison.Ordinal) && r.Status == 200);
var dcAccepted = discordSent.Count(m => stored.Contains("m:" + m.Id));
var dcLost = discordSent.Count(m => stored.Contains("m:" + m.Id) && !created.ContainsKey(m.Id));
var dcDup = created.Values.Sum(n => Math.Max(0, n - 1));
var dcNeverStored = discordSent.Count(m => !stored.Contains("m:" + m.Id));
var neverStoredWindows = discordSent.Where(m => !stored.Contains("m:" + m.Id))
    .Select(m => kills.Where(k => k >= m.Ticks).Select(k => (k - m.Ticks) / 10_000.0).DefaultIfEmpty(double.NaN).Min()).ToList();
var dcReplies = discordSent.Count(m => created.ContainsKey(m.Id));

// Each repeated part in full: when every copy reached the fake, the latest worker start before it, the SIGKILLs around
// it, and the job's worker log lines.
var t0 = startTicks[0];
string At(long ticks) => ((ticks - t0) / 10_000_000.0).ToString("F3", CultureInfo.InvariantCulture) + " s"
    + new DateTime(ticks, DateTimeKind.Utc).ToString(" (HH:mm:ss.fff)", CultureInfo.InvariantCulture);
int RunAt(long ticks) => startTicks.Count(s => s <= ticks);
foreach (var (kind, groups) in new[] { ("album", albums), ("text", texts) })
{
    foreach (var (replyTo, copies) in groups.Where(g => g.Value.Count > 1))
    {
        var all = calls.Where(c => ReplyTo(c) == replyTo).Select(c => $"{c.Method} {c.Status} at {At(c.Ticks)} (run {RunAt(c.Ticks)} started)");
        var killsNear = kills.Where(k => k >= copies[0].Ticks - 20_000_000 && k <= copies[^1].Ticks).Select(At);
        Console.WriteLine($"Repeated {kind} for message {replyTo} (chat {copies[0].ChatId}): {string.Join("; ", all)}; SIGKILLs in between: {string.Join(", ", killsNear)}");
        lock (logLock)
        {
            foreach (var (_, line) in jobLines.Where(l => l.Chat == copies[0].ChatId))
            {
                Console.WriteLine("  " + line);
            }
        }
    }
}

// The at-least-once window, measured: for each committed part, from the fake's record of the request (Telegram has
// the message) to the worker's log line written right after committing it (ms resolution, one clock).
List<double> commitWindows;
lock (logLock)
{
    var sends = calls.Where(c => c.Ok && c.Method is "sendMediaGroup" or "sendMessage" or "sendPhoto").ToList();
    var measured = commits
        .Select(k => (Commit: k, Ms: sends.Where(c => c.ChatId == k.Chat && c.Ticks <= k.Ticks + 10_000).Select(c => (k.Ticks - c.Ticks) / 10_000.0).DefaultIfEmpty(double.NaN).Min()))
        .Where(w => !double.IsNaN(w.Ms)).Select(w => (w.Commit, Ms: Math.Max(0, w.Ms))).ToList();
    commitWindows = measured.Select(w => w.Ms).Order().ToList();
    // The widest windows, with the worker's age and whether the part was that process's first send.
    foreach (var (k, ms) in measured.OrderByDescending(w => w.Ms).Take(5))
    {
        var firstOfRun = commits.Where(c => c.Run == k.Run).MinBy(c => c.Ticks) == k;
        Console.WriteLine($"  window {ms:F0} ms: job {k.Job} part {k.Part}, run {k.Run} {(k.Ticks - startTicks[k.Run - 1]) / 10_000_000.0:F1} s after its start"
                          + (firstOfRun ? ", the run's first committed part" : ""));
    }
}
double Quantile(double q) => commitWindows.Count == 0 ? double.NaN : commitWindows[(int)Math.Min(commitWindows.Count - 1, Math.Floor(q * commitWindows.Count))];
var commitSummary = new { parts = commitWindows.Count, medianMs = Quantile(0.5), p99Ms = Quantile(0.99), maxMs = commitWindows.Count == 0 ? double.NaN : commitWindows[^1] };

string Ms(List<double> windows) => windows.Count == 0 ? "" : $" (first copy {string.Join(", ", windows.Select(w => w.ToString("F0", CultureInfo.InvariantCulture)))} ms before its sender's SIGKILL; negative: after it)";
Console.WriteLine($"Kill run, seed {seed}: {telegramSent.Count + discordSent.Count} photos ({telegramSent.Count} Telegram, {discordSent.Count} Discord), "
                  + $"{kills.Count} SIGKILLs, {terms.Count} SIGTERMs ({termsDuringStart} during start-up{(badExits.Count == 0 ? "" : $"; failed stops, exit codes {string.Join(", ", badExits)}")}), "
                  + $"{starts} worker starts, {clock.Elapsed.TotalSeconds:F0} s, finished: {finished}");
Console.WriteLine($"Telegram: {telegramSent.Count - tgLost}/{telegramSent.Count} answered ({tgAnswers} answers, {tgApologies} apologies), {tgLost} lost; "
                  + $"albums repeated {tgDupAlbums}{Ms(albumWindows)}, texts repeated {tgDupTexts}{Ms(textWindows)}");
Console.WriteLine($"Discord: {dcAccepted}/{discordSent.Count} stored ({dispatchedWhileDown} sent while no worker was connected), {dcReplies} replied, {dcLost} lost after storing, {dcDup} duplicated; "
                  + $"{posts - discord.CreatedMessages.Count} reply POSTs deduplicated by nonce; {dcNeverStored} events never stored (lost in the gateway){(neverStoredWindows.Count == 0 ? "" : $" (dispatched {string.Join(", ", neverStoredWindows.Select(w => w.ToString("F0", CultureInfo.InvariantCulture)))} ms before a SIGKILL)")}; "
                  + $"gateway: {discord.IdentifyCount} identifies, {discord.ResumeCount} resumes");
Console.WriteLine($"Telegram at-least-once window (request recorded by the fake → part committed by the worker): {commitSummary.parts} parts, "
                  + $"median {commitSummary.medianMs:F0} ms, p99 {commitSummary.p99Ms:F0} ms, max {commitSummary.maxMs:F0} ms");
Console.WriteLine($"Worker log: {logPath} (removed when the run passes with nothing repeated, unless --keep)");
if (jsonOut is not null)
{
    await File.WriteAllTextAsync(jsonOut, JsonSerializer.Serialize(new
    {
        seed, stop = stopMode, photos = telegramSent.Count + discordSent.Count, kills = kills.Count, sigterms = terms.Count, sigtermsDuringStart = termsDuringStart, badExits, starts, seconds = Math.Round(clock.Elapsed.TotalSeconds), finished,
        telegram = new { sent = telegramSent.Count, lost = tgLost, answers = tgAnswers, apologies = tgApologies, repeatedAlbums = tgDupAlbums, repeatedTexts = tgDupTexts, albumWindowsMs = albumWindows, textWindowsMs = textWindows, commitWindow = commitSummary },
        discord = new { sent = discordSent.Count, sentWhileDown = dispatchedWhileDown, stored = dcAccepted, replied = dcReplies, lostAfterStoring = dcLost, duplicated = dcDup, dedupedPosts = posts - discord.CreatedMessages.Count, neverStored = dcNeverStored, neverStoredWindowsMs = neverStoredWindows, identifies = discord.IdentifyCount, resumes = discord.ResumeCount },
    }, new JsonSerializerOptions { WriteIndented = true }));
}
var passed = finished && tgLost == 0 && dcLost == 0 && dcNeverStored == 0 && badExits.Count == 0;
// A repeated part keeps the worker log too: the evidence of why is in it.
if (passed && tgDupAlbums + tgDupTexts + dcDup == 0 && !args.Contains("--keep"))
{
    // Nothing to look into: leave no state behind (a failed run keeps its state file and worker log).
    lock (logLock)
    {
        logClosed = true;
        log.Dispose();
    }
    Directory.Delete(stateDir, recursive: true);
}
return passed ? 0 : 1;

double Arg(string name, double fallback) =>
    Text(name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;

string? Text(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

[DllImport("libc", SetLastError = true)]
static extern int kill(int pid, int signal);

internal sealed record Commit(int Run, long Ticks, long Job, long Chat, int Part, string Line);

internal static partial class Program
{
    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d\d:\d\d:\d\d\.\d{3}) dbug: Otchatsa\.Bot\.Telegram\.TelegramJobHandler\[\d+\] Telegram job (\d+) in chat (-?\d+): part (\d+) of \d+ sent and recorded")]
    private static partial System.Text.RegularExpressions.Regex CommitLine();

    [System.Text.RegularExpressions.GeneratedRegex(@"Telegram job \d+ in chat (-?\d+)")]
    private static partial System.Text.RegularExpressions.Regex JobLine();
}
