using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Otchatsa.Tests.Deployment;

/// <summary>
/// The deployment files in the repository: the systemd unit is checked by systemd itself (<c>systemd-analyze</c>),
/// the Dockerfile by reading it (no container engine on the test machines).
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private const string SystemdAnalyze = "/usr/bin/systemd-analyze";

    private static string Unit => Path.Combine(TestPaths.RepoRoot, "deploy", "otchatsa.service");

    [SkippableFact]
    public void The_systemd_unit_passes_systemd_analyze_verify_without_a_warning()
    {
        Skip.IfNot(File.Exists(SystemdAnalyze), $"{SystemdAnalyze} is not installed (Debian package systemd)");
        using var copy = UnitWithExistingProgram();

        var (code, output) = Run("verify", copy.Path);

        // verify exits 0 even for unknown keys, so any line it prints (an unknown or misspelt directive) fails too.
        Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify exited {code}:\n{output}");
    }

    [SkippableFact]
    public void The_systemd_unit_is_rated_ok_by_systemd_analyze_security()
    {
        Skip.IfNot(File.Exists(SystemdAnalyze), $"{SystemdAnalyze} is not installed (Debian package systemd)");
        using var copy = UnitWithExistingProgram();

        var (code, output) = Run("security", "--offline=yes", "--no-pager", copy.Path);

        Assert.Equal(0, code);
        var match = ExposureLevel().Match(output);
        Assert.True(match.Success, output);
        var exposure = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        // 0 = fully locked down, 10 = unprotected; systemd calls < 2 "OK" (1.7 when this test was written).
        Assert.True(exposure < 2.0, $"exposure {exposure}:\n{output}");
    }

    [Fact]
    public void The_systemd_unit_runs_as_a_dynamic_user_with_only_its_state_directory_writable()
    {
        var directives = File.ReadAllLines(Unit)
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.TrimStart().StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToLookup(p => p[0].Trim(), p => p[1].Trim());

        Assert.Equal("yes", directives["DynamicUser"].Single());
        Assert.Equal("strict", directives["ProtectSystem"].Single());
        Assert.Equal("otchatsa", directives["StateDirectory"].Single());
        // The int8 model built on first use must land somewhere writable, or every start rebuilds it in memory.
        Assert.Equal("otchatsa", directives["CacheDirectory"].Single());
        Assert.Contains(directives["Environment"], e => e.StartsWith("OTCHATSA_MODEL_CACHE=/var/cache/otchatsa/", StringComparison.Ordinal));
        Assert.Equal("", directives["CapabilityBoundingSet"].Single());
        Assert.Equal("yes", directives["NoNewPrivileges"].Single());
        Assert.Equal("yes", directives["PrivateTmp"].Single());
        Assert.Equal("@system-service", directives["SystemCallFilter"].Single());
        Assert.Contains("/srv/otchatsa/index", directives["ReadOnlyPaths"].Single(), StringComparison.Ordinal);
        Assert.StartsWith("/etc/otchatsa/", directives["EnvironmentFile"].Single(), StringComparison.Ordinal);
        Assert.NotEmpty(directives["MemoryMax"]);
        // The state path the worker is given is inside the state directory, the only place it may write.
        Assert.Contains(directives["Environment"], e => e.StartsWith("Otchatsa__StatePath=/var/lib/otchatsa/", StringComparison.Ordinal));
        // No token in the unit itself: they come from the environment file.
        Assert.DoesNotContain(directives["Environment"], e => e.Contains("Token", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void The_dockerfile_builds_with_the_sdk_and_runs_as_a_non_root_user_with_a_health_check()
    {
        var lines = JoinContinuations(File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "Dockerfile")));
        var stages = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, stages.Length);
        Assert.Contains("dotnet/sdk:", stages[0], StringComparison.Ordinal);
        Assert.Contains("dotnet/aspnet:", stages[1], StringComparison.Ordinal);

        // Everything after the last FROM is the image that runs.
        var runtime = lines.SkipWhile(l => l != stages[1]).ToArray();
        var user = runtime.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))["USER ".Length..].Split(':')[0].Trim();
        Assert.DoesNotContain(user, new[] { "root", "0" });
        Assert.True(int.TryParse(user, out var uid) && uid > 0, $"USER {user}: a numeric non-root uid lets orchestrators check runAsNonRoot");
        Assert.True(runtime.ToList().FindLastIndex(l => l.StartsWith("USER ", StringComparison.Ordinal))
                    > runtime.ToList().FindLastIndex(l => l.StartsWith("RUN ", StringComparison.Ordinal)), "USER must come after the last RUN");
        var health = runtime.Single(l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        Assert.Contains("/healthz", health, StringComparison.Ordinal);
        Assert.Contains(runtime, l => l.StartsWith("VOLUME ", StringComparison.Ordinal) && l.Contains("/var/lib/otchatsa", StringComparison.Ordinal) && l.Contains("/index", StringComparison.Ordinal));
        Assert.Contains(runtime, l => l.Contains("Otchatsa__StatePath=/var/lib/otchatsa/", StringComparison.Ordinal));
        Assert.Contains(runtime, l => l.Contains("OTCHATSA_MODEL_CACHE=/var/lib/otchatsa/", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Token", StringComparison.OrdinalIgnoreCase) && !l.StartsWith('#'));

        // Nothing local or secret goes into the build context.
        var ignored = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, ".dockerignore"));
        Assert.Contains(".git", ignored);
        Assert.Contains("index/", ignored);
        Assert.Contains("**/*.env", ignored);
    }

    /// <summary>Dockerfile lines with backslash continuations joined, comments and blank lines dropped.</summary>
    private static List<string> JoinContinuations(string[] raw)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var line in raw.Select(l => l.TrimEnd()))
        {
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Length == 0))
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            lines.Add((current + line).Trim());
            current = "";
        }
        return lines;
    }

    /// <summary>
    /// The unit with <c>ExecStart</c> pointing at a program that exists here (systemd checks that the binary exists;
    /// the published worker is not installed on a test machine); every other line as in the repository.
    /// </summary>
    private static TempUnit UnitWithExistingProgram()
    {
        var dir = Directory.CreateTempSubdirectory("otchatsa-unit-").FullName;
        var path = Path.Combine(dir, "otchatsa.service");
        var text = File.ReadAllText(Unit);
        Assert.Contains("ExecStart=/opt/otchatsa/bot/Otchatsa.Bot\n", text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace("ExecStart=/opt/otchatsa/bot/Otchatsa.Bot\n", "ExecStart=/bin/true\n", StringComparison.Ordinal));
        return new TempUnit(dir, path);
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo(SystemdAnalyze) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, (stdout.Result + stderr.Result).Trim());
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+)")]
    private static partial Regex ExposureLevel();

    private sealed record TempUnit(string Dir, string Path) : IDisposable
    {
        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }
}
