using System.Text.Json;
using Otchatsa.FakeDiscord;
using Otchatsa.FakeTelegram;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Cli;

/// <summary>
/// No stack trace reaches a user: each failure of the CLI and of the worker (both run as processes, as a user runs
/// them) is exactly one line on stderr, with no "   at " frame anywhere, and its documented exit code (README).
/// </summary>
public sealed class FailureTableTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();
    private readonly string _dir = Directory.CreateTempSubdirectory("otchatsa-failures-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string CopyOfDemoIndex(string name, Action<string> spoil)
    {
        var target = Path.Combine(_dir, name);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(DemoIndex.Directory))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        spoil(target);
        return target;
    }

    private static void AssertOneLine(CliProcess.Result result, int exitCode, string prefix, string expected)
    {
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{result.StdErr}");
        Assert.StartsWith(prefix, lines[0]);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr + result.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.StdErr + result.StdOut, StringComparison.Ordinal);
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, expected {exitCode}: {lines[0]}");
    }

    [Fact]
    public async Task Every_cli_failure_is_one_line_and_its_exit_code()
    {
        var otherModels = CopyOfDemoIndex("other-models", dir =>
        {
            var json = Path.Combine(dir, "index.json");
            var text = File.ReadAllText(json);
            using var doc = JsonDocument.Parse(text);
            var sha = doc.RootElement.GetProperty("models")[0].GetProperty("sha256").GetString()!;
            File.WriteAllText(json, text.Replace(sha, new string('0', sha.Length), StringComparison.Ordinal));
        });
        var damaged = CopyOfDemoIndex("damaged", dir => File.WriteAllText(Path.Combine(dir, "catalog.sqlite"), "not a database at all, just text"));
        var noVectors = CopyOfDemoIndex("no-vectors", dir =>
        {
            foreach (var file in Directory.GetFiles(dir).Where(f => !f.EndsWith(".json", StringComparison.Ordinal) && !f.EndsWith(".sqlite", StringComparison.Ordinal)))
            {
                File.Delete(file);
            }
        });
        var noImageColumn = Write("no-image.csv", "picture,mall\na.jpg,m\n");
        var q = DemoIndex.QueryImage;
        var emptyDir = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;

        (string[] Args, IReadOnlyDictionary<string, string?> Env, int Code, string Expected)[] table =
        [
            (["recommend", "--index", Path.Combine(_dir, "nowhere"), "--json", q], NoEnvironment, 4, "otchatsa index build"),
            (["recommend", "--index", damaged, "--json", q], NoEnvironment, 4, "damaged"),
            (["recommend", "--index", noVectors, "--json", q], NoEnvironment, 4, "damaged"),
            (["recommend", "--index", otherModels, "--json", q], NoEnvironment, 4, "embedding model"),
            (["recommend", "--index", DemoIndex.Directory, "--models", emptyDir, "--json", q], NoEnvironment, 1, "selfie_segmentation.onnx"),
            (["chat", "--index", Path.Combine(_dir, "nowhere")], NoEnvironment, 4, "No index"),
            (["index", "build", "--catalog", Path.Combine(_dir, "missing.csv"), "--out", Path.Combine(_dir, "out")], NoEnvironment, 1, "does not exist"),
            (["index", "build", "--catalog", noImageColumn, "--out", Path.Combine(_dir, "out")], NoEnvironment, 1, "image"),
            (["index", "build", "--catalog", noImageColumn, "--out", Path.Combine(_dir, "out"), "--view", "sideways"], NoEnvironment, 1, "Unknown view"),
            (["demo", "--dir", _dir, "--full"], new Dictionary<string, string?> { ["OTCHATSA_FASHION_MNIST"] = emptyDir }, 1, "without --full"),
            (["demo", "--dir", _dir, "--per-class", "500"], NoEnvironment, 1, "--full"),
            (["recommend"], NoEnvironment, 64, "otchatsa"),
            (["no-such-verb"], NoEnvironment, 64, "--help"),
        ];

        foreach (var (args, env, code, expected) in table)
        {
            var result = await CliProcess.RunAsync(Timeout, env, args);
            AssertOneLine(result, code, "otchatsa", expected);
        }
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    private Dictionary<string, string?> Worker(params (string Key, string? Value)[] settings)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Production",
            ["Otchatsa__IndexPath"] = DemoIndex.Directory,
            ["Otchatsa__StatePath"] = Path.Combine(_dir, "state", Guid.NewGuid().ToString("N"), "bot.db"),
            ["Telegram__Enabled"] = null,
            ["Discord__Enabled"] = null,
        };
        foreach (var (key, value) in settings)
        {
            env[key] = value;
        }
        return env;
    }

    [Fact]
    public async Task Every_worker_start_failure_is_one_line_and_its_exit_code()
    {
        await using var telegram = await FakeTelegramApi.StartAsync();
        await using var discord = await FakeDiscordServer.StartAsync();
        (string Key, string? Value)[] telegramOn =
            [("Telegram__Enabled", "true"), ("Telegram__BotToken", FakeTelegramApi.Token), ("Telegram__ApiBaseUrl", telegram.BaseUrl)];
        (string Key, string? Value)[] discordOn =
            [("Discord__Enabled", "true"), ("Discord__BotToken", FakeDiscordServer.Token), ("Discord__ApiBaseUrl", discord.ApiBaseUrl.ToString())];

        var damaged = CopyOfDemoIndex("damaged", dir => File.WriteAllText(Path.Combine(dir, "catalog.sqlite"), "not a database"));
        var emptyModels = Directory.CreateDirectory(Path.Combine(_dir, "models")).FullName;

        (Dictionary<string, string?> Env, Action? Arrange, int Code, string Expected)[] table =
        [
            (Worker(("Telegram__Enabled", "true")), null, 2, "BotToken"),
            (Worker([.. telegramOn, ("Otchatsa__IndexPath", Path.Combine(_dir, "nowhere"))]), null, 2, "IndexPath"),
            (Worker([.. discordOn, ("Otchatsa__IndexPath", damaged)]), null, 4, "otchatsa index build"),
            (Worker([.. telegramOn, ("Otchatsa__ModelsPath", emptyModels)]), null, 1, "selfie_segmentation.onnx"),
            (Worker([.. telegramOn]), () => telegram.FailNext("deleteWebhook", 404), 5, "Telegram:ApiBaseUrl"),
            // A proxy in front of Discord that lacks GET /applications/@me.
            (Worker([.. discordOn, ("Discord__ApiBaseUrl", new Uri(discord.BaseUrl, "no-api/").ToString())]), null, 5, "Discord:ApiBaseUrl"),
        ];

        foreach (var (env, arrange, code, expected) in table)
        {
            arrange?.Invoke();
            var result = await CliProcess.RunProgramAsync("Otchatsa.Bot.dll", Timeout, env);
            AssertOneLine(result, code, "otchatsa-bot:", expected);
        }
    }
}
