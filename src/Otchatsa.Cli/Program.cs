using Otchatsa.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("otchatsa");
    config.PropagateExceptions();
    config.AddBranch("index", index =>
    {
        index.SetDescription("Build a catalog index.");
        index.AddCommand<IndexBuildCommand>("build").WithDescription("Index the photos of a catalog manifest (CSV).");
    });
    config.AddCommand<RecommendCommand>("recommend").WithDescription("Style, three malls and nine items for each photo.");
    config.AddCommand<DemoCommand>("demo").WithDescription("Build the Fashion-MNIST demo index once and answer for a sample photo.");
    config.AddCommand<ConsoleChatCommand>("chat").WithDescription("Talk to the bot in the console: image paths or /style romantic.");
    config.AddCommand<WebCommand>("web").WithDescription("Serve the upload-and-recommend web page for an index.");
    config.AddCommand<BenchCommand>("bench").WithDescription("Per-stage latency (p50/p95) and throughput over a folder of photos.");
});
return await CliRunner.RunAsync(app, args);
