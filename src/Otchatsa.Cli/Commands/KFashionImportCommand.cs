using System.ComponentModel;
using Otchatsa.KFashion;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary><c>otchatsa kfashion import</c>: AI Hub K-Fashion labels and photos → a catalog manifest.</summary>
internal sealed class KFashionImportCommand : Command<KFashionImportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--root <DIR>")]
        [Description("Folder holding the AI Hub label JSON files and the photos (any layout; paired by file name).")]
        public string Root { get; init; } = "";

        [CommandOption("--out <CSV>")]
        [Description("Manifest to write; image and label paths are relative to it.")]
        public string Out { get; init; } = "";

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--root", Root), ("--out", Out));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var summary = KFashionImporter.Import(settings.Root, settings.Out);
        var console = CliRunner.Human;
        console.MarkupLineInterpolated($"[green]Wrote[/] {Path.GetFullPath(settings.Out)}: {summary.Rows} photos from {summary.Labels} label files.");
        foreach (var (reason, count) in summary.Skipped.OrderByDescending(kv => kv.Value))
        {
            console.MarkupLineInterpolated($"  skipped {count} × {reason}");
        }
        foreach (var example in summary.Examples.Take(10))
        {
            console.MarkupLineInterpolated($"    {example}");
        }
        return summary.Rows > 0 ? 0 : 1;
    }
}
