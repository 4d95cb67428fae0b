namespace Otchatsa.Catalog;

/// <summary>
/// Builds a directory next to its final place and swaps it in only when complete, so a failed or interrupted build
/// never replaces a good one:
/// <code>
/// using var build = AtomicDirectory.Begin(outDir);
/// WriteEverythingInto(build.WorkPath);
/// build.Commit();          // without this, Dispose deletes the half-built directory
/// </code>
/// </summary>
/// <remarks>
/// The work directory is the sibling <c>&lt;out&gt;.tmp-&lt;guid&gt;</c> (same parent, so the swap is a rename on the
/// same file system), held by an exclusive lock on <c>&lt;out&gt;.tmp-&lt;guid&gt;.lock</c> while its build runs.
/// <see cref="Commit"/> first writes a journal <c>&lt;out&gt;.swap</c> naming the new and the old directory (complete on
/// disk before it appears under that name, and locked while the swap runs), then renames the old directory to
/// <c>&lt;out&gt;.old-&lt;guid&gt;</c> and the new one into place, deletes the journal and then the old directory.
/// A process killed at any instant leaves a state <see cref="Recover"/> repairs: with a journal, the swap is completed
/// (the new directory was complete before the journal existed) or, if the new one is gone, the old one is put back;
/// <c>.tmp-*</c> directories whose build is no longer running and <c>.old-*</c> leftovers are removed.
/// <see cref="Begin"/> and the index readers call <see cref="Recover"/>, so the next build or open finds a complete
/// directory. Close every file in <see cref="WorkPath"/> (SQLite, index files) before committing.
/// </remarks>
public sealed class AtomicDirectory : IDisposable
{
    /// <summary>Steps of <see cref="Commit"/> after which a crash can be injected by tests (<see cref="AfterStep"/>).</summary>
    public static IReadOnlyList<string> CommitSteps { get; } = ["journal-written", "old-moved-aside", "new-moved-in"];

    private readonly FileStream _workLock;
    private bool _committed;
    private bool _journalWritten;

    private AtomicDirectory(string targetPath, string workPath, FileStream workLock)
    {
        TargetPath = targetPath;
        WorkPath = workPath;
        _workLock = workLock;
    }

    /// <summary>The final directory.</summary>
    public string TargetPath { get; }

    /// <summary>The empty directory to build into.</summary>
    public string WorkPath { get; }

    /// <summary>
    /// Test seam: called after each of <see cref="CommitSteps"/>. An exception thrown here stands for a crash at that
    /// instant: <see cref="Commit"/> and <see cref="Dispose"/> then leave the disk as it is, for <see cref="Recover"/>.
    /// </summary>
    internal Action<string>? AfterStep { get; set; }

    /// <summary>Creates the work directory beside <paramref name="targetDirectory"/> (whose parent is created if needed).</summary>
    /// <exception cref="IOException"><paramref name="targetDirectory"/> exists and is a file.</exception>
    public static AtomicDirectory Begin(string targetDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(targetDirectory);
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        var parent = Path.GetDirectoryName(target)
            ?? throw new ArgumentException($"cannot build into a file system root: {target}", nameof(targetDirectory));
        if (File.Exists(target))
            throw new IOException($"{target} is a file, not a directory");

        Directory.CreateDirectory(parent);
        Recover(target);
        var work = $"{target}.tmp-{Guid.NewGuid():N}";
        // The lock comes first: a work directory without a held lock is a dead build's leftover.
        var workLock = new FileStream(work + ".lock", FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            Directory.CreateDirectory(work);
        }
        catch
        {
            DeleteLock(workLock);
            throw;
        }
        return new AtomicDirectory(target, work, workLock);
    }

    /// <summary>Runs <paramref name="build"/> on a work directory and swaps it in if it returns; otherwise the old directory stays.</summary>
    public static void Build(string targetDirectory, Action<string> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        using var directory = Begin(targetDirectory);
        build(directory.WorkPath);
        directory.Commit();
    }

    /// <summary>Async form of <see cref="Build"/>; cancellation leaves the old directory in place.</summary>
    public static async Task BuildAsync(string targetDirectory, Func<string, CancellationToken, Task> build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build);
        using var directory = Begin(targetDirectory);
        await build(directory.WorkPath, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        directory.Commit();
    }

    /// <summary>Moves the work directory to <see cref="TargetPath"/>, replacing what was there.</summary>
    public void Commit()
    {
        if (_committed)
            throw new InvalidOperationException("already committed");
        if (!Directory.Exists(WorkPath))
            throw new DirectoryNotFoundException($"work directory vanished: {WorkPath}");

        var backup = $"{TargetPath}.old-{Guid.NewGuid():N}";
        var journalPath = JournalPath(TargetPath);
        var pending = $"{WorkPath}.swap";
        // Written and flushed under another name, then renamed: the journal is complete (and locked) when it appears.
        // The rename fails when another commit's journal exists, so two swaps of one directory never interleave.
        using var journal = new FileStream(pending, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        journal.Write(System.Text.Encoding.UTF8.GetBytes($"{Path.GetFileName(WorkPath)}\n{Path.GetFileName(backup)}\n"));
        journal.Flush(flushToDisk: true);
        try
        {
            File.Move(pending, journalPath, overwrite: false);
        }
        catch (IOException ex)
        {
            File.Delete(pending);
            throw new IOException($"another build is swapping {TargetPath} right now ({ex.Message}); try again", ex);
        }
        _journalWritten = true;
        AfterStep?.Invoke(CommitSteps[0]);

        if (Directory.Exists(TargetPath))
        {
            Directory.Move(TargetPath, backup);
            AfterStep?.Invoke(CommitSteps[1]);
        }
        try
        {
            Directory.Move(WorkPath, TargetPath);
        }
        catch when (!Directory.Exists(TargetPath) && Directory.Exists(backup))
        {
            Directory.Move(backup, TargetPath);
            File.Delete(journalPath);
            _journalWritten = false;
            throw;
        }
        AfterStep?.Invoke(CommitSteps[2]);
        File.Delete(journalPath);
        _committed = true;
        DeleteLock(_workLock);
        TryDelete(backup);
    }

    /// <summary>Deletes the work directory unless <see cref="Commit"/> succeeded (or crashed mid-swap: see <see cref="AfterStep"/>).</summary>
    public void Dispose()
    {
        if (!_committed && !_journalWritten)
        {
            TryDelete(WorkPath);
            DeleteLock(_workLock);
        }
        _workLock.Dispose();
    }

    /// <summary>
    /// Repairs what a killed build or swap of <paramref name="targetDirectory"/> left behind: completes (or rolls back)
    /// a swap whose journal is not held by a live process, and removes <c>.tmp-*</c> directories of builds that no
    /// longer run and <c>.old-*</c> leftovers. Best effort: does nothing while another process is swapping, and a
    /// directory it may not change is left alone (the reader then reports what it finds).
    /// </summary>
    public static void Recover(string targetDirectory)
    {
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(targetDirectory));
        var parent = Path.GetDirectoryName(target);
        if (parent is null || !Directory.Exists(parent))
            return;
        try
        {
            var journalPath = JournalPath(target);
            if (File.Exists(journalPath))
            {
                FileStream journal;
                try
                {
                    journal = new FileStream(journalPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException)
                {
                    return; // a live swap (or another recovery) holds it; it finishes the job
                }
                using (journal)
                {
                    using var reader = new StreamReader(journal, leaveOpen: true);
                    var name = Path.GetFileName(target);
                    var workName = reader.ReadLine() ?? "";
                    var backupName = reader.ReadLine() ?? "";
                    if (!IsSibling(workName, name + ".tmp-") || !IsSibling(backupName, name + ".old-"))
                    {
                        return; // not a journal this class wrote: touch nothing
                    }
                    var work = Path.Combine(parent, workName);
                    var backup = Path.Combine(parent, backupName);
                    if (Directory.Exists(work))
                    {
                        if (Directory.Exists(target))
                            Directory.Move(target, backup);
                        Directory.Move(work, target);
                    }
                    else if (!Directory.Exists(target) && Directory.Exists(backup))
                    {
                        Directory.Move(backup, target);
                    }
                    File.Delete(journalPath);
                }
            }

            var prefix = Path.GetFileName(target);
            foreach (var leftover in Directory.EnumerateDirectories(parent, prefix + ".tmp-*"))
            {
                TryDeleteDeadBuild(leftover);
            }
            foreach (var orphan in Directory.EnumerateFiles(parent, prefix + ".tmp-*.lock"))
            {
                if (!Directory.Exists(orphan[..^".lock".Length]))
                    TryDeleteDeadBuild(orphan[..^".lock".Length]);
            }
            foreach (var old in Directory.EnumerateDirectories(parent, prefix + ".old-*"))
            {
                TryDelete(old);
            }
            foreach (var pending in Directory.EnumerateFiles(parent, prefix + ".tmp-*.swap"))
            {
                if (!Directory.Exists(pending[..^".swap".Length]))
                    TryDeleteFile(pending);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static string JournalPath(string target) => target + ".swap";

    private static bool IsSibling(string fileName, string prefix) =>
        fileName.Length > prefix.Length && fileName.StartsWith(prefix, StringComparison.Ordinal)
        && fileName.IndexOfAny(['/', '\\']) < 0 && fileName != "." && fileName != "..";

    // A work directory is a dead build's when its lock file can be taken (the kernel drops a killed process's locks).
    private static void TryDeleteDeadBuild(string work)
    {
        FileStream workLock;
        try
        {
            workLock = new FileStream(work + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return; // its build is still running
        }
        TryDelete(work);
        DeleteLock(workLock);
    }

    private static void DeleteLock(FileStream workLock)
    {
        TryDeleteFile(workLock.Name);
        workLock.Dispose();
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    // Leftovers are only disk space; failing the build (or masking its real exception) over them would be worse.
    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
