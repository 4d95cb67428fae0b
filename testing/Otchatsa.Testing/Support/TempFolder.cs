namespace Otchatsa.Tests.Support;

/// <summary>A fresh folder under the temp folder, deleted with everything in it on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix = "otchatsa-tests-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    /// <summary>A path inside the folder (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public override string ToString() => Path;

    public void Dispose() => Delete(Path);

    /// <summary>Deletes <paramref name="path"/> and everything in it; a folder already gone is fine.</summary>
    public static void Delete(string path)
    {
        // SQLite keeps pooled connections (and their file handles) open after Dispose.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
