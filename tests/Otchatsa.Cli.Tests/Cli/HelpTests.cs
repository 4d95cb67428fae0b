using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Cli;

/// <summary>
/// Every command's <c>--help</c> works: the help text goes through Spectre's markup, where an unescaped "[" in an
/// option's description made <c>index build --help</c> and <c>style train --help</c> fail with "unexpected error".
/// The commands are discovered from the help itself (COMMANDS sections, branches followed), so a new one is covered.
/// </summary>
public sealed class HelpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Every_command_prints_its_help_and_exits_0()
    {
        var pending = new Queue<string[]>([[]]);
        var leaves = new List<string>();
        while (pending.TryDequeue(out var path))
        {
            var result = await CliProcess.RunAsync(Timeout, [.. path, "--help"]);
            var name = path.Length == 0 ? "otchatsa" : string.Join(' ', path);
            Assert.True(result.ExitCode == 0, $"'{name} --help' exited {result.ExitCode}: {result.StdErr}");
            Assert.Contains("USAGE:", result.StdOut, StringComparison.Ordinal);
            Assert.Equal("", result.StdErr.Trim());
            var subcommands = Subcommands(result.StdOut);
            if (subcommands.Count == 0)
            {
                leaves.Add(name);
                Assert.Contains("OPTIONS:", result.StdOut, StringComparison.Ordinal);
            }
            foreach (var sub in subcommands)
            {
                pending.Enqueue([.. path, sub]);
            }
        }
        // The commands README documents; discovery must have reached them (not stopped at the top level).
        foreach (var expected in new[] { "recommend", "index build", "style train", "eval", "embedder check", "models quantize" })
        {
            Assert.Contains(expected, leaves);
        }
    }

    /// <summary>The command names of the COMMANDS: section.</summary>
    private static List<string> Subcommands(string help)
    {
        var names = new List<string>();
        var inCommands = false;
        foreach (var line in help.Split('\n'))
        {
            if (line.StartsWith("COMMANDS:", StringComparison.Ordinal))
            {
                inCommands = true;
                continue;
            }
            if (!inCommands)
            {
                continue;
            }
            if (line.Trim().Length == 0)
            {
                break;
            }
            // A command's line is indented by four spaces; a wrapped description continues further in.
            if (line.Length > 4 && line[..4] == "    " && line[4] != ' ')
            {
                names.Add(line[4..].Split(' ', 2)[0]);
            }
        }
        return names;
    }
}
