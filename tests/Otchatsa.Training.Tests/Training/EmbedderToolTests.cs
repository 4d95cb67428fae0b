using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Otchatsa.Catalog;
using Otchatsa.Pipeline;
using Otchatsa.Training;
using Otchatsa.Vision;
using Xunit.Abstractions;

namespace Otchatsa.Tests.Training;

/// <summary>
/// tools/embedder-train: the package's ResNet18 loaded into torchvision must give what ONNX Runtime gives on the
/// original file, and what the tool exports must load in the engine unchanged and agree with PyTorch (max |Δ| ≤ 1e-3).
/// </summary>
public sealed class EmbedderToolTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-3;
    private const string Python = "/usr/bin/python3";
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "embedder", "resnet18-probes.reference.json");

    [Fact]
    public void The_package_resnet18_run_by_onnx_runtime_matches_its_weights_loaded_into_torchvision()
    {
        // The fixture is the tool's `reference` output (PyTorch) on the generated probe pictures; a wrong padding,
        // weight mapping or preprocessing shows up as differences of 1 and more (outputs reach 16).
        using var embedder = ResNetEmbedder.Open(ModelPaths.Locate(embedderModel: ModelPaths.ImageNetModel), int8Card: null);
        var agreement = EmbedderCheck.Compare(EmbedderCheck.Run(embedder), EmbedderCheck.ReadReference(Fixture).Outputs);
        output.WriteLine($"max |Δ| {agreement.MaxAbsDiff:E2}, largest value {agreement.MaxAbsValue:F2}");
        Assert.True(agreement.MaxAbsValue > 5, "the probes must drive the network well away from zero");
        Assert.True(agreement.MaxAbsDiff <= Tolerance, $"max |Δ| {agreement.MaxAbsDiff}");
    }

    [Fact]
    public void The_probe_pictures_are_distinct_and_fully_opaque()
    {
        var images = EmbedderCheck.ProbeImages();
        try
        {
            var bytes = images.Select(i => i.GetPixelSpan().ToArray()).ToArray();
            Assert.All(bytes, b => Assert.All(Enumerable.Range(0, b.Length / 4), p => Assert.Equal(255, b[p * 4 + 3])));
            Assert.NotEqual(bytes[0], bytes[1]);
            Assert.NotEqual(bytes[1], bytes[2]);
            Assert.True(bytes[0].Distinct().Count() > 200, "the noise probe uses the whole byte range");
        }
        finally
        {
            foreach (var image in images)
            {
                image.Dispose();
            }
        }
    }

    [Fact]
    public void The_embedder_model_option_or_the_models_folder_chooses_the_network()
    {
        var dir = Directory.CreateTempSubdirectory("otchatsa-embedder-paths-");
        try
        {
            var located = ModelPaths.Locate();
            File.Copy(located.Segmenter, Path.Combine(dir.FullName, "selfie_segmentation.onnx"));
            Assert.Equal(ModelPaths.ResNetId, ModelPaths.Locate(dir.FullName).EmbedderId);

            var own = Path.Combine(dir.FullName, ModelPaths.EmbedderFileName);
            File.WriteAllBytes(own, [1]);
            var inFolder = ModelPaths.Locate(dir.FullName);
            Assert.Equal((own, ModelPaths.FineTunedId), (inFolder.ResNet, inFolder.EmbedderId));

            var explicitPath = Path.Combine(dir.FullName, "other.onnx");
            File.WriteAllBytes(explicitPath, [2]);
            Assert.Equal(explicitPath, ModelPaths.Locate(dir.FullName, embedderModel: explicitPath).ResNet);
            // A fine-tuned network runs in fp32: the int8 card is calibrated for the package's network.
            Assert.Equal(Otchatsa.Vision.EmbedderPrecision.Fp32, ModelPaths.Locate(dir.FullName, embedderModel: explicitPath).Embedder);
            Assert.Throws<UnknownEmbedderException>(() => ModelPaths.Locate(dir.FullName, Otchatsa.Vision.EmbedderPrecision.Int8, explicitPath));
            Assert.Throws<FileNotFoundException>(() => ModelPaths.Locate(dir.FullName, embedderModel: Path.Combine(dir.FullName, "missing.onnx")));
            // 'imagenet' is the package's network whatever the folder holds; 'fashion' needs the delta in the folder.
            var imageNet = ModelPaths.Locate(dir.FullName, embedderModel: ModelPaths.ImageNetModel);
            Assert.Equal((ModelPaths.ResNetId, (string?)null), (imageNet.EmbedderId, imageNet.EmbedderDelta));
            Assert.NotEqual(own, imageNet.ResNet);
            Assert.Contains(EmbedderDelta.FileName, Assert.Throws<FileNotFoundException>(
                () => ModelPaths.Locate(dir.FullName, embedderModel: ModelPaths.FashionModel)).Message);
            File.Delete(own);
            File.WriteAllBytes(Path.Combine(dir.FullName, EmbedderDelta.FileName), [3]);
            Assert.Equal(ModelPaths.ResNetId, ModelPaths.Locate(dir.FullName).EmbedderId); // the delta is used only when asked for
            var fashion = ModelPaths.Locate(dir.FullName, embedderModel: ModelPaths.FashionModel);
            Assert.Equal((ModelPaths.FashionId, Path.Combine(dir.FullName, EmbedderDelta.FileName)), (fashion.EmbedderId, fashion.EmbedderDelta));
            Assert.Equal(imageNet.ResNet, fashion.ResNet);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void The_tool_selfcheck_trains_and_exports_a_network_the_engine_loads_and_onnx_runtime_agrees_with()
    {
        Skip.IfNot(HasTorch(out var why), why);
        var dir = Directory.CreateTempSubdirectory("otchatsa-embedder-selfcheck-");
        try
        {
            var script = Path.Combine(TestPaths.RepoRoot, "tools", "embedder-train", "train.py");
            var (code, log) = Run(Python, $"\"{script}\" --threads 1 --nuget \"{Path.Combine(AppContext.BaseDirectory, "DnnImageModels")}\" selfcheck --out \"{dir.FullName}\"", TimeSpan.FromMinutes(8));
            output.WriteLine(log);
            Assert.True(code == 0, $"selfcheck exited with {code}:\n{log}");
            Assert.Contains("selfcheck ok", log);

            // Before training: the loaded weights against ONNX Runtime on the original file.
            var package = ModelPaths.Locate(embedderModel: ModelPaths.ImageNetModel);
            using (var original = ResNetEmbedder.Open(package, int8Card: null))
            {
                var before = EmbedderCheck.Compare(EmbedderCheck.Run(original),
                    EmbedderCheck.ReadReference(Path.Combine(dir.FullName, "base.reference.json")).Outputs);
                output.WriteLine($"package ResNet18 vs torchvision: max |Δ| {before.MaxAbsDiff:E2}");
                Assert.True(before.MaxAbsDiff <= Tolerance, $"before training: max |Δ| {before.MaxAbsDiff}");
            }

            // After: the exported network, with the engine's own input and output names and shapes.
            var exported = Path.Combine(dir.FullName, "embedder.onnx");
            using (var session = new InferenceSession(exported))
            {
                Assert.Equal("Input247", Assert.Single(session.InputMetadata).Key);
                Assert.Equal([1, 3, 224, 224], session.InputMetadata["Input247"].Dimensions);
                Assert.Equal("Pooling395_Output_0", Assert.Single(session.OutputMetadata).Key);
                Assert.Equal([1, 512, 1, 1], session.OutputMetadata["Pooling395_Output_0"].Dimensions);
            }
            var trained = ModelPaths.Locate(embedderModel: exported);
            using (var engine = new OutfitEngine(trained))
            {
                var after = EmbedderCheck.Compare(EmbedderCheck.Run(engine.Embedder),
                    EmbedderCheck.ReadReference(Path.Combine(dir.FullName, "embedder.reference.json")).Outputs);
                output.WriteLine($"exported network, ONNX Runtime vs PyTorch: max |Δ| {after.MaxAbsDiff:E2}");
                Assert.True(after.MaxAbsDiff <= Tolerance, $"after export: max |Δ| {after.MaxAbsDiff}");

                // An index built with the package's network refuses this engine and says to rebuild.
                using var packageEngine = new OutfitEngine(package);
                var built = IndexManifest.Expected(packageEngine);
                var expected = IndexManifest.Expected(engine);
                Assert.Equal(ModelPaths.FineTunedId, expected.Models.Single(m => m.Role == "embedding").Id);
                var refused = Assert.Throws<IndexIncompatibleException>(() => built.EnsureCompatible(expected));
                Assert.Contains("rebuild with `otchatsa index build`", refused.Message);
            }
            Assert.Contains("\"holdout_fold\": 4", File.ReadAllText(Path.Combine(dir.FullName, "embedder.card.json")));

            // The last stage trained on a pixels file (the selfcheck fails when training left layer4's weights as they
            // were): its export loads unchanged too and agrees with PyTorch.
            var stage = Path.Combine(dir.FullName, "layer4");
            using (var engine = new OutfitEngine(ModelPaths.Locate(embedderModel: Path.Combine(stage, "embedder.onnx"))))
            {
                var after = EmbedderCheck.Compare(EmbedderCheck.Run(engine.Embedder),
                    EmbedderCheck.ReadReference(Path.Combine(stage, "embedder.reference.json")).Outputs);
                output.WriteLine($"layer4 export, ONNX Runtime vs PyTorch: max |Δ| {after.MaxAbsDiff:E2}");
                Assert.True(after.MaxAbsDiff <= Tolerance, $"layer4 export: max |Δ| {after.MaxAbsDiff}");
            }
            Assert.Contains("layer4", File.ReadAllText(Path.Combine(stage, "embedder.card.json")));

            // Its committable form: `train.py delta` writes the change of the package's weights; the engine adds it to
            // the package's graph (our ONNX writer) and agrees with PyTorch on package + delta.
            var models = Path.Combine(dir.FullName, "models");
            Directory.CreateDirectory(models);
            File.Copy(package.Segmenter, Path.Combine(models, "selfie_segmentation.onnx"));
            foreach (var name in new[] { EmbedderDelta.FileName, EmbedderDelta.CardFileName })
            {
                File.Copy(Path.Combine(dir.FullName, "delta", name), Path.Combine(models, name));
            }
            var fashion = ModelPaths.Locate(models, Otchatsa.Vision.EmbedderPrecision.Fp32, ModelPaths.FashionModel);
            Assert.Equal(ModelPaths.FashionId, fashion.EmbedderId);
            var merged = ResNetEmbedder.Open(fashion, int8Card: null);
            try
            {
                var rebuilt = EmbedderCheck.Compare(EmbedderCheck.Run(merged),
                    EmbedderCheck.ReadReference(Path.Combine(dir.FullName, "delta", "fashion_embedder.reference.json")).Outputs);
                output.WriteLine($"package + delta, ONNX Runtime vs PyTorch: max |Δ| {rebuilt.MaxAbsDiff:E2}");
                Assert.True(rebuilt.MaxAbsDiff <= Tolerance, $"package + delta: max |Δ| {rebuilt.MaxAbsDiff}");
            }
            finally
            {
                merged.Dispose();
                // The model cache now holds this throwaway network (package + delta, and its batched copy): remove both.
                foreach (var file in Directory.EnumerateFiles(ResNetModelFiles.CacheRoot)
                    .Where(f => f == merged.Fp32Source.Path || Path.GetFileName(f).StartsWith($"resnet18-fp32-{merged.ModelSha256[..16]}", StringComparison.Ordinal)))
                {
                    File.Delete(file);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static bool HasTorch(out string why)
    {
        why = $"{Python} with torch, torchvision and onnx is not installed (apt-get install python3-torch python3-torchvision python3-onnx)";
        if (!File.Exists(Python))
        {
            return false;
        }
        var (code, _) = Run(Python, "-c \"import torch, torchvision, onnx\"", TimeSpan.FromMinutes(2));
        return code == 0;
    }

    private static (int Code, string Log) Run(string file, string arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, "(timed out)");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
