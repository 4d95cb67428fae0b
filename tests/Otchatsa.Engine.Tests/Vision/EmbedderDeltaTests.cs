using Otchatsa.Catalog;
using Otchatsa.OnnxFiles;
using Otchatsa.Pipeline;
using Otchatsa.Tests.Support;
using Otchatsa.Training;
using Otchatsa.Vision;

namespace Otchatsa.Tests.Vision;

/// <summary>Our fashion embedder as shipped: the package's ResNet18 plus the committed delta (models/fashion_embedder.*).</summary>
public sealed class EmbedderDeltaTests
{
    [Fact]
    public void A_delta_adds_int8_changes_per_output_channel_and_float_changes_and_leaves_the_rest_alone()
    {
        var package = Model(
            OnnxTensor.Of("w", [2, 1, 1, 2], [1f, 2f, 3f, 4f]),
            OnnxTensor.Of("bn", [2], [0.5f, 0.25f]),
            OnnxTensor.Of("kept", [1], [7f]));
        var delta = Model(
            OnnxTensor.Of("w", [2, 1, 1, 2], new sbyte[] { 127, -127, 1, 0 }),
            OnnxTensor.Of("w" + EmbedderDelta.ScaleSuffix, [2], [0.01f, 0.5f]),
            OnnxTensor.Of("bn", [2], [0.125f, -0.25f]));

        var merged = OnnxModel.Parse(EmbedderDelta.Apply(package, delta)).Initializers;

        Assert.Equal([1f + 127 * 0.01f, 2f - 127 * 0.01f, 3f + 0.5f, 4f], merged["w"].Floats());
        Assert.Equal([2L, 1, 1, 2], merged["w"].Dims);
        Assert.Equal([0.625f, 0f], merged["bn"].Floats());
        Assert.Equal([7f], merged["kept"].Floats());
        Assert.DoesNotContain("w" + EmbedderDelta.ScaleSuffix, merged.Keys);
    }

    [Fact]
    public void A_delta_that_does_not_fit_the_package_is_refused_with_the_tensor_it_names()
    {
        var package = Model(OnnxTensor.Of("w", [2, 1], [1f, 2f]));
        var unknown = Assert.Throws<InvalidDataException>(() => EmbedderDelta.Apply(package, Model(OnnxTensor.Of("other", [2, 1], [1f, 1f]))));
        Assert.Contains("'other'", unknown.Message);
        var size = Assert.Throws<InvalidDataException>(() => EmbedderDelta.Apply(package, Model(OnnxTensor.Of("w", [3], [1f, 1f, 1f]))));
        Assert.Contains("3 values", size.Message);
        var noScale = Assert.Throws<InvalidDataException>(() => EmbedderDelta.Apply(package, Model(OnnxTensor.Of("w", [2, 1], new sbyte[] { 1, 1 }))));
        Assert.Contains(EmbedderDelta.ScaleSuffix, noScale.Message);
        Assert.Throws<InvalidDataException>(() => EmbedderDelta.Apply(package, Model()));
    }

    [Fact]
    public void A_card_made_for_another_package_file_or_another_delta_is_refused()
    {
        using var folder = new TempFolder("otchatsa-delta-card-");
        var delta = Path.Combine(folder.Path, EmbedderDelta.FileName);
        File.WriteAllBytes(delta, Model(OnnxTensor.Of("w", [1], [1f])));
        var deltaSha = IndexManifest.Sha256OfFile(delta);
        var card = Path.Combine(folder.Path, EmbedderDelta.CardFileName);
        var packageSha = new string('a', 64);

        var missing = Assert.Throws<FileNotFoundException>(() => EmbedderDelta.CheckedCard(delta, packageSha));
        Assert.Contains(EmbedderDelta.CardFileName, missing.Message);

        File.WriteAllText(card, $$"""{"model": "x", "sha256": "{{deltaSha}}", "base_sha256": "{{new string('b', 64)}}"}""");
        var otherPackage = Assert.Throws<InvalidDataException>(() => EmbedderDelta.CheckedCard(delta, packageSha));
        Assert.Contains("trained on ResNet18 bbbbbbbbbbbb…", otherPackage.Message);

        File.WriteAllText(card, $$"""{"model": "x", "sha256": "{{new string('c', 64)}}", "base_sha256": "{{packageSha}}"}""");
        Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => EmbedderDelta.CheckedCard(delta, packageSha)).Message);

        File.WriteAllText(card, $$"""{"model": "x", "sha256": "{{deltaSha}}", "base_sha256": "{{packageSha}}"}""");
        Assert.Equal(packageSha, EmbedderDelta.CheckedCard(delta, packageSha).BaseSha256);
    }

    [Fact]
    public void The_committed_fashion_embedder_is_package_plus_delta_and_matches_its_pytorch_reference()
    {
        var fashion = ModelPaths.Locate(embedderModel: ModelPaths.FashionModel);
        Assert.Equal(ModelPaths.FashionId, fashion.EmbedderId);
        Assert.NotNull(fashion.EmbedderDelta);
        // The committed int8 card is the package network's: ours runs in fp32, and asking for int8 is refused in one line.
        Assert.Equal(EmbedderPrecision.Fp32, fashion.Embedder);
        Assert.Contains("--embedder fp32", Assert.Throws<UnknownEmbedderException>(
            () => ModelPaths.Locate(embedder: EmbedderPrecision.Int8, embedderModel: ModelPaths.FashionModel)).Message);
        var imageNet = ModelPaths.Locate(embedder: EmbedderPrecision.Fp32, embedderModel: ModelPaths.ImageNetModel);
        Assert.Equal((ModelPaths.ResNetId, (string?)null), (imageNet.EmbedderId, imageNet.EmbedderDelta));
        Assert.Equal(fashion.ResNet, imageNet.ResNet); // the package's file, with the delta added at load time

        // The reference is PyTorch on package + delta (train.py delta); the engine adds the delta with its own ONNX writer.
        var reference = EmbedderCheck.ReadReference(Path.Combine(Path.GetDirectoryName(fashion.Segmenter)!, "fashion_embedder.reference.json"));
        using var ours = ResNetEmbedder.Open(fashion, int8Card: null);
        using var package = ResNetEmbedder.Open(imageNet, int8Card: null);
        var outputs = EmbedderCheck.Run(ours);
        var agreement = EmbedderCheck.Compare(outputs, reference.Outputs);
        Assert.True(agreement.MaxAbsDiff <= 1e-3, $"max |Δ| {agreement.MaxAbsDiff}");
        // ... and it is not the package's network: the trained last stage moves the outputs.
        var moved = EmbedderCheck.Compare(EmbedderCheck.Run(package), reference.Outputs);
        Assert.True(moved.MaxAbsDiff > 0.05, $"the delta changed the outputs by only {moved.MaxAbsDiff}");
        Assert.Equal(ours.Fp32Source.Sha256(), ours.ModelSha256);
        Assert.NotEqual(package.ModelSha256, ours.ModelSha256);
    }

    [Fact]
    public async Task An_index_built_with_the_fashion_embedder_is_served_with_it_without_being_told()
    {
        using var folder = new TempFolder("otchatsa-fashion-index-");
        var demo = Path.GetDirectoryName(DemoIndex.Manifest)!;
        var lines = File.ReadLines(DemoIndex.Manifest).ToArray();
        // Twelve demo photos, by absolute path, in a manifest of their own.
        File.WriteAllLines(folder.File("manifest.csv"), lines.Take(1).Concat(lines.Skip(1).Take(12).Select(l => $"{demo}/{l}")));
        var index = folder.File("index");
        using (var engine = new OutfitEngine(ModelPaths.Locate(embedderModel: ModelPaths.FashionModel)))
        {
            var summary = await new Otchatsa.Indexing.IndexBuilder(engine).BuildAsync(folder.File("manifest.csv"), index);
            Assert.Equal(12, summary.Indexed);
        }
        Assert.Equal(ModelPaths.FashionId, IndexManifest.Load(index).Models.Single(m => m.Role == "embedding").Id);

        using (var runtime = Otchatsa.Hosting.OtchatsaRuntime.Open(index))
        {
            Assert.Equal(ModelPaths.FashionId, runtime.Engine.Embedder.ModelId);
            var result = runtime.Recommender.Recommend(File.ReadAllBytes(DemoIndex.QueryImage), Otchatsa.Recommending.Strategies.Create(null));
            Assert.NotEmpty(result.Recommendation.Malls.SelectMany(m => m.Items));
        }
        var refused = Assert.Throws<IndexIncompatibleException>(() => Otchatsa.Hosting.OtchatsaRuntime.Open(index, embedderModel: ModelPaths.ImageNetModel));
        Assert.Contains("rebuild with `otchatsa index build`", refused.Message);
    }

    private static byte[] Model(params OnnxTensor[] initializers)
    {
        var graph = new ProtoMessage().String(2, "test");
        foreach (var tensor in initializers)
        {
            graph.Message(5, tensor.ToProto());
        }
        return Onnx.Model(graph, 13, "test", "1", "", []);
    }
}
