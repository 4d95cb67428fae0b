using System.ComponentModel;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

internal sealed class RecommendCommand : Command<RecommendCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")]
        [Description(SharedSettings.IndexHelp)]
        public string Index { get; init; } = "";

        [CommandOption("--json")]
        [Description("One JSON object per photo per line (the CLI contract).")]
        public bool Json { get; init; }

        [CommandOption("--strategy <NAME>")]
        [Description("blend (default) or seed (the original project's rule).")]
        public string Strategy { get; init; } = Strategies.Default;

        [CommandOption("--embedder-model <ONNX>")]
        [Description(SharedSettings.EmbedderModelHelp)]
        public string? EmbedderModel { get; init; }

        [CommandOption("--models <DIR>")]
        [Description(SharedSettings.ModelsHelp)]
        public string? Models { get; init; }

        [CommandArgument(0, "<IMAGE>")]
        [Description("Photo files.")]
        public string[] Images { get; init; } = [];

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--index", Index));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var strategy = Strategies.Create(settings.Strategy);
        using var runtime = OtchatsaRuntime.Open(settings.Index, settings.Models, embedderModel: settings.EmbedderModel);
        var failed = 0;
        foreach (var image in settings.Images)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (line, result) = RecommendOne(runtime.Recommender, strategy, image);
            if (!line.Ok)
            {
                failed++;
            }
            if (settings.Json)
            {
                Console.Out.WriteLine(line.ToJsonLine());
            }
            else
            {
                AnswerText.Write(AnsiConsole.Console, line, result);
            }
        }
        return failed > 0 ? 2 : 0;
    }

    /// <summary>Never throws for a bad photo: every input gets a line.</summary>
    internal static (RecommendJson Line, RecommendResult? Result) RecommendOne(
        OutfitRecommender recommender, IRecommendationStrategy strategy, string image)
    {
        try
        {
            var bytes = PhotoFiles.Read(image, recommender.Engine.Limits);
            var result = recommender.Recommend(bytes, strategy);
            return (RecommendJson.From(image, result), result);
        }
        catch (ImageRejectedException ex)
        {
            return (RecommendJson.Failure(image, ex.Code.ToWire(), ex.Message), null);
        }
        catch (PhotoFileException ex)
        {
            return (RecommendJson.Failure(image, ex.Code, ex.Message), null);
        }
    }
}
