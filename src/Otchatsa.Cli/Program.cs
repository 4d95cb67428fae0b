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
    config.AddBranch("style", style =>
    {
        style.SetDescription("Train the style head.");
        style.AddCommand<StyleTrainCommand>("train").WithDescription("Train the style head on a labelled manifest (ONNX + model card).");
    });
    config.AddBranch("models", models =>
    {
        models.SetDescription("Derived models.");
        models.AddCommand<ModelsQuantizeCommand>("quantize").WithDescription("Calibrate the int8 ResNet18 on catalog photos (model card + ONNX), check it against fp32.");
    });
    config.AddBranch("kfashion", kfashion =>
    {
        kfashion.SetDescription("AI Hub K-Fashion data.");
        kfashion.AddCommand<KFashionImportCommand>("import").WithDescription("Turn AI Hub K-Fashion labels and photos into a manifest.");
    });
    config.AddBranch("embedder", embedder =>
    {
        embedder.SetDescription("Our own embedder (tools/embedder-train).");
        embedder.AddCommand<EmbedderDataCommand>("data").WithDescription("Fill the embedding cache for a labelled manifest and describe it (labels, folds, keys) for the training tool.");
        embedder.AddCommand<EmbedderCheckCommand>("check").WithDescription("Run an embedding network with ONNX Runtime on the probe pictures and compare with PyTorch's outputs.");
    });
    config.AddCommand<EvalCommand>("eval").WithDescription("Style, mall, item, crop and latency numbers (index + queries, or --folds cross-validation).");
    config.AddCommand<RecommendCommand>("recommend").WithDescription("Style, three malls and nine items for each photo.");
    config.AddCommand<DemoCommand>("demo").WithDescription("Build the Fashion-MNIST demo index once and answer for a sample photo.");
    config.AddCommand<ConsoleChatCommand>("chat").WithDescription("Talk to the bot in the console: image paths or /style romantic.");
    config.AddCommand<WebCommand>("web").WithDescription("Serve the upload-and-recommend web page for an index.");
    config.AddCommand<EmbedCommand>("embed").WithDescription("Fill the embedding cache for a labelled manifest (used by style train and eval).");
    config.AddCommand<BenchCommand>("bench").WithDescription("Per-stage latency (p50/p95) and throughput over a folder of photos.");
});
return await CliRunner.RunAsync(app, args);
