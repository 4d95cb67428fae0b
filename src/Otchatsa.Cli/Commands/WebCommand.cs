using System.ComponentModel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Otchatsa.Recommending;
using Otchatsa.Web;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// Serves the web page on its own, for trying a catalog in a browser without the chat worker. The worker runs the
/// same front end when <c>Web:Enabled</c> is true.
/// </summary>
internal sealed class WebCommand : AsyncCommand<WebCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")]
        [Description("Index folder built by 'otchatsa index build' (or index/demo after 'otchatsa demo').")]
        public string Index { get; init; } = "";

        [CommandOption("--urls <URLS>")]
        [Description("Listen URLs, ';'-separated (default http://127.0.0.1:8080).")]
        public string Urls { get; init; } = new WebOptions().Urls;

        [CommandOption("--strategy <NAME>")]
        [Description("blend (default) or seed.")]
        public string Strategy { get; init; } = Strategies.Default;

        [CommandOption("--models <DIR>")]
        [Description(SharedSettings.ModelsHelp)]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--index", Index));
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(settings.Index))
        {
            throw new CliException($"No index at '{settings.Index}'. Build one with 'otchatsa index build' or run 'otchatsa demo'.");
        }
        var configuration = new ConfigurationBuilder()
            // OTCHATSA_Web__RecommendPermits=… and the like tune the limits without new flags; the flags still win.
            .AddEnvironmentVariables("OTCHATSA_")
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Otchatsa:IndexPath"] = Path.GetFullPath(settings.Index),
                ["Otchatsa:ModelsPath"] = settings.Models,
                ["Web:Enabled"] = "true",
                ["Web:Urls"] = settings.Urls,
                ["Web:Strategy"] = settings.Strategy,
            })
            .Build();
        await using var app = WebFrontEnd.Build(configuration);
        await app.StartAsync(cancellationToken);
        CliRunner.Human.MarkupLineInterpolated($"Otchatsa web page on [bold]{string.Join(", ", app.Urls)}[/] — models and index load in the background (GET /healthz). Ctrl+C stops.");
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
