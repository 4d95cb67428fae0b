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
/// The work directory is the sibling <c>&lt;out&gt;.tmp-&lt;guid&gt;</c> (same parent, so the final step is a rename on
/// the same file system). <see cref="Commit"/> renames the old directory to <c>&lt;out&gt;.old-&lt;guid&gt;</c>, renames
/// the new one into place and then deletes the old one; if the second rename fails the old one is put back. Between
/// the two renames (microseconds) the path does not exist; a reader that opens the index then fails and can retry.
/// Close every file in <see cref="WorkPath"/> (SQLite, index files) before committing: Windows cannot rename a
/// directory with open files. Work directories of a killed process are left behind as <c>.tmp-*</c> siblings.
/// </remarks>
public sealed class AtomicDirectory : IDisposable
{
    private bool _committed;

    private AtomicDirectory(string targetPath, string workPath)
    {
        TargetPath = targetPath;
        WorkPath = workPath;
    }

    /// <summary>The final directory.</summary>
    public string TargetPath { get; }

    /// <summary>The empty directory to build into.</summary>
    public string WorkPath { get; }

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
        var work = $"{target}.tmp-{Guid.NewGuid():N}";
        Directory.CreateDirectory(work);
        return new AtomicDirectory(target, work);
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

        if (Directory.Exists(TargetPath))
        {
            var backup = $"{TargetPath}.old-{Guid.NewGuid():N}";
            Directory.Move(TargetPath, backup);
            try
            {
                Directory.Move(WorkPath, TargetPath);
            }
            catch
            {
                Directory.Move(backup, TargetPath);
                throw;
            }
            _committed = true;
            TryDelete(backup);
        }
        else
        {
            Directory.Move(WorkPath, TargetPath);
            _committed = true;
        }
    }

    /// <summary>Deletes the work directory unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose()
    {
        if (!_committed)
            TryDelete(WorkPath);
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
