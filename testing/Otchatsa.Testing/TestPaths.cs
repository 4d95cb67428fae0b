namespace Otchatsa.Tests;

/// <summary>Locates the repository and the shared K-Fashion sample (which lives outside the repository).</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/data/kfashion beside the repository, or null when this machine does not have it.</summary>
    public static string? KFashion
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "kfashion"));
            return File.Exists(Path.Combine(dir, "manifest.csv")) ? dir : null;
        }
    }

    public const string KFashionMissing =
        "The K-Fashion sample (../shared/data/kfashion beside the repository) is not on this machine.";

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Otchatsa.Bot.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Otchatsa.Bot.sln not found above the test binaries.");
    }
}
