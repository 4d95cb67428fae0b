using System.ComponentModel;
using System.Globalization;
using Otchatsa.Embeddings;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// <c>otchatsa embedder data</c>: fills the embedding cache for labelled manifests (served view, other-background
/// queries) and writes, per manifest, what <c>tools/embedder-train</c> needs to read it: labels, folds exactly as
/// <c>otchatsa eval --folds</c> assigns them with the same manifests as <c>--queries</c>, cache keys; with
/// <c>--pixels</c> also the served views' pixels.
/// </summary>
internal sealed class EmbedderDataCommand : Command<EmbedderDataCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--data <CSV>")]
        [Description("Labelled manifest (image, mall, product, style, substyle, garments); repeat it for several. The folds are those of `eval --folds` with the same manifests, in the same order, as --queries.")]
        public string[] Data { get; init; } = [];

        [CommandOption("--out <DIR>")]
        [Description("Folder for <name>.json per manifest (labels, folds, cache keys; no pixels, no vectors) and, with --pixels, <name>.px. Keep it outside the repository.")]
        public string Out { get; init; } = "";

        [CommandOption("--pixels")]
        [Description("Also write the served views' pixels (crop and whole photo, as sent and on the photo's backdrop; about 0.6 MB a photo) for training the network's last stage. Derived from the photos: delete them after training.")]
        public bool Pixels { get; init; }

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
            SharedSettings.Required(("--data", SharedSettings.Given(Data)), ("--out", SharedSettings.Given(Out))).ErrorIf(Folds < 2, SharedSettings.FoldsAtLeastTwo);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var manifests = settings.Data.Select(EmbedCommand.RequireFile).ToArray();
        var described = EmbedderData.FoldsAsEvaluated(manifests, settings.Folds, settings.Seed);
        // The training tool starts from the package's ResNet18 and learns next to its vectors: never another embedder's,
        // even when the models folder holds our fashion embedder or a fine-tuned network.
        using var engine = new OutfitEngine(
            ModelPaths.Locate(settings.Models, Vision.EmbedderPrecision.Fp32, ModelPaths.ImageNetModel), EmbeddingSettings.Default);
        var extractor = FeatureExtractor.Create(engine, settings.Cache);
        var output = Path.GetFullPath(settings.Out);
        Directory.CreateDirectory(output);
        for (var m = 0; m < manifests.Length; m++)
        {
            var (manifest, (photos, folds)) = (manifests[m], described[m]);
            if (photos.Count == 0)
            {
                throw new CliException($"'{manifest}' has no usable photos.");
            }
            EmbedCommand.WithProgress($"features of {photos.Count} photos", p =>
                LabelledPhotos.Extract(extractor, photos, [EmbeddingSettings.Default], otherBackgrounds: true, p, cancellationToken,
                    settings.BackgroundEvery));
            var name = LabelledPhotos.SourceName(manifest);
            var keys = EmbedderData.Keys(photos);
            var json = Path.Combine(output, name + ".json");
            using (var stream = File.Create(json))
            {
                EmbedderData.Write(extractor, manifest, manifests, photos, keys, folds, settings.Seed, settings.BackgroundEvery, stream);
            }
            CliRunner.Human.MarkupLineInterpolated($"[green]Wrote[/] {json} ({photos.Count} photos; vectors in {extractor.Cache.Directory}).");
            if (settings.Pixels)
            {
                var path = Path.Combine(output, name + ".px");
                int records;
                using (var stream = File.Create(path))
                {
                    records = EmbedCommand.WithProgress($"pixels of {photos.Count} photos", p =>
                        EmbedderPixels.Write(extractor, photos, keys, stream, p, cancellationToken));
                }
                CliRunner.Human.MarkupLineInterpolated($"[green]Wrote[/] {path} ({records} views).");
            }
        }
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
        [Description("Network to run: 'imagenet' (the package's ResNet18, the default), 'fashion' (package + our delta) or an ONNX file.")]
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
        var models = ModelPaths.Locate(settings.Models, Vision.EmbedderPrecision.Fp32, settings.Embedder ?? ModelPaths.ImageNetModel);
        using var embedder = ResNetEmbedder.Open(models, int8Card: null);
        var agreement = EmbedderCheck.Compare(EmbedderCheck.Run(embedder), reference.Outputs);
        var ok = agreement.MaxAbsDiff <= settings.Tolerance;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(ok ? "ok" : "MISMATCH")}: {(models.EmbedderDelta is null ? Path.GetFileName(models.ResNet) : embedder.ModelId)} (ONNX Runtime) vs {reference.Model}: max |Δ| {agreement.MaxAbsDiff:E2} over {agreement.Probes} probes × {ResNetEmbedder.Dimensions} (largest value {agreement.MaxAbsValue:F2}), min cosine {agreement.MinCosine:F6}, tolerance {settings.Tolerance:E1}"));
        return ok ? 0 : 1;
    }
}
