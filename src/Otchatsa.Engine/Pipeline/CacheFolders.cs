namespace Otchatsa.Pipeline;

/// <summary>Where Otchatsa keeps what it can rebuild: one rule for the embedding, model and demo-data caches.</summary>
public static class CacheFolders
{
    /// <summary>
    /// <paramref name="variable"/> when set, else <c>$XDG_CACHE_HOME/otchatsa/<paramref name="leaf"/></c> (an absolute
    /// XDG_CACHE_HOME only, as the XDG spec says), else <c>~/.cache/otchatsa/<paramref name="leaf"/></c>.
    /// </summary>
    public static string Resolve(string? variable, string leaf)
    {
        var explicitRoot = variable is null ? null : Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(explicitRoot))
        {
            return explicitRoot;
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(baseDir, "otchatsa", leaf);
    }
}
