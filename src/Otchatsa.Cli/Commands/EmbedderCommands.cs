using System.ComponentModel;
using System.Globalization;
using Otchatsa.Embeddings;
using Otchatsa.Evaluation;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa embedder data</c>: fills the embedding cache for a labelled manifest (served view, other-background
/// queries) and writes what <c>tools/embedder-train</c> needs to read it: labels, folds as <c>otchatsa eval --folds</c>
/// assigns them, cache keys.
/// </summary>
internal sealed class EmbedderDataCommand : Command<EmbedderDataCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--data <CSV>")]
        [Description("Labelled manifest (image, mall, product, style, substyle, garments).")]
        public string Data { get; init; } = "";

        [CommandOption("--out <JSON>")]
        [Description("Description to write (labels, folds, cache keys; no pixels, no vectors). Keep it outside the repository.")]
        public string Out { get; init; } = "";

        [CommandOption("--folds <N>")]
        public int Folds { get; init; } = 5;

        [CommandOption("--seed <N>")]
        public int Seed { get; init; } = 1;

        [CommandOption("--background-every <N>")]
        [Description("Other-background versions of every N-th photo, as eval makes them (default 3).")]
        public int BackgroundEvery { get; init; } = 3;

        [CommandOption("--cache <DIR>")]
        [Description(SharedSettings.CacheHelp)]
        public string? Cache { get; init; }

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--data", Data), ("--out", Out)).ErrorIf(Folds < 2, SharedSettings.FoldsAtLeastTwo);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var photos = LabelledPhotos.Read(EmbedCommand.RequireFile(settings.Data));
        if (photos.Count == 0)
        {
            throw new CliException($"'{settings.Data}' has no usable photos.");
        }
        // The training tool learns from the package's ResNet18 vectors: never from another embedder's.
        using var engine = new OutfitEngine(ModelPaths.Locate(settings.Models, Vision.EmbedderPrecision.Fp32), EmbeddingSettings.Default);
        if (engine.Models.EmbedderId != ModelPaths.ResNetId)
        {
            throw new CliException($"The models folder holds {ModelPaths.EmbedderFileName}: point --models at a folder without it.");
        }
        var extractor = FeatureExtractor.Create(engine, settings.Cache);
        EmbedCommand.WithProgress($"features of {photos.Count} photos", p =>
            LabelledPhotos.Extract(extractor, photos, [EmbeddingSettings.Default], otherBackgrounds: true, p, cancellationToken,
                settings.BackgroundEvery));
        var output = Path.GetFullPath(settings.Out);
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        using (var stream = File.Create(output))
        {
            EmbedderData.Write(extractor, settings.Data, photos, settings.Folds, settings.Seed, settings.BackgroundEvery, stream);
        }
        CliRunner.Human.MarkupLineInterpolated($"[green]Wrote[/] {output} ({photos.Count} photos; vectors in {extractor.Cache.Directory}).");
        return 0;
    }
}

/// <summary>
/// <c>otchatsa embedder check</c>: runs an embedding network with ONNX Runtime and the engine's preprocessing on the
/// generated probe pictures and compares its raw outputs with a reference written by PyTorch. Exit 0 when
/// max |Δ| ≤ the tolerance, 1 otherwise.
/// </summary>
internal sealed class EmbedderCheckCommand : Command<EmbedderCheckCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--embedder <ONNX>")]
        [Description("Network to run (default: the package's ResNet18).")]
        public string? Embedder { get; init; }

        [CommandOption("--reference <JSON>")]
        [Description("Reference outputs written by tools/embedder-train.")]
        public string Reference { get; init; } = "";

        [CommandOption("--tolerance <VALUE>")]
        public double Tolerance { get; init; } = 1e-3;

        [CommandOption("--models <DIR>")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            SharedSettings.Required(("--reference", Reference));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var reference = EmbedderCheck.ReadReference(EmbedCommand.RequireFile(settings.Reference));
        var models = ModelPaths.Locate(settings.Models, Vision.EmbedderPrecision.Fp32, settings.Embedder);
        using var embedder = new ResNetEmbedder(models.ResNet, models.ResNetPreprocess);
        var agreement = EmbedderCheck.Compare(EmbedderCheck.Run(embedder), reference.Outputs);
        var ok = agreement.MaxAbsDiff <= settings.Tolerance;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(ok ? "ok" : "MISMATCH")}: {Path.GetFileName(models.ResNet)} (ONNX Runtime) vs {reference.Model}: max |Δ| {agreement.MaxAbsDiff:E2} over {agreement.Probes} probes × {ResNetEmbedder.Dimensions} (largest value {agreement.MaxAbsValue:F2}), min cosine {agreement.MinCosine:F6}, tolerance {settings.Tolerance:E1}"));
        return ok ? 0 : 1;
    }
}
