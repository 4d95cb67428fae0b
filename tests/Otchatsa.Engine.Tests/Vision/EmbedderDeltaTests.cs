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
    public void The_fashion_embedder_is_the_package_network_with_the_delta_added_at_load_time()
    {
        using var models = new FashionModels(seed: 1);
        // The committed int8 card is the package network's: with it in the folder, ours runs in fp32 and asking for
        // int8 is refused in one line.
        File.Copy(ModelPaths.Locate().Int8Card!, Path.Combine(models.Path, Int8ModelCard.FileName));
        var fashion = ModelPaths.Locate(models.Path, embedderModel: ModelPaths.FashionModel);
        Assert.Equal((ModelPaths.FashionId, models.Delta, EmbedderPrecision.Fp32), (fashion.EmbedderId, fashion.EmbedderDelta, fashion.Embedder));
        Assert.Contains("--embedder fp32", Assert.Throws<UnknownEmbedderException>(
            () => ModelPaths.Locate(models.Path, EmbedderPrecision.Int8, ModelPaths.FashionModel)).Message);
        var imageNet = ModelPaths.Locate(models.Path, EmbedderPrecision.Fp32);
        Assert.Equal((ModelPaths.ResNetId, (string?)null), (imageNet.EmbedderId, imageNet.EmbedderDelta)); // the default
        Assert.Equal(fashion.ResNet, imageNet.ResNet); // the package's file, with the delta added at load time

        using var ours = ResNetEmbedder.Open(fashion, int8Card: null);
        using var package = ResNetEmbedder.Open(imageNet, int8Card: null);
        var merged = OnnxModel.Parse(ours.Fp32Source.ReadAllBytes()).Initializers;
        var original = OnnxModel.Parse(File.ReadAllBytes(fashion.ResNet)).Initializers;
        var delta = OnnxModel.Parse(File.ReadAllBytes(models.Delta)).Initializers;
        foreach (var name in models.ChangedTensors)
        {
            var (after, before, q) = (merged[name].Floats(), original[name].Floats(), delta[name].Raw);
            Assert.All(new[] { 0, 1, after.Length - 1 }, i => Assert.Equal(before[i] + (sbyte)q[i] * FashionModels.Step, after[i]));
        }
        Assert.Equal(original.Count, merged.Count);
        Assert.All(original.Keys.Except(models.ChangedTensors), name => Assert.Equal(original[name].Raw, merged[name].Raw));

        var cosine = EmbedderCheck.Compare(EmbedderCheck.Run(ours), EmbedderCheck.Run(package));
        Assert.True(cosine.MaxAbsDiff > 0.05, $"the delta changed the outputs by only {cosine.MaxAbsDiff}");
        Assert.Equal(ours.Fp32Source.Sha256(), ours.ModelSha256);
        Assert.NotEqual(package.ModelSha256, ours.ModelSha256);
    }

    [Fact]
    public async Task An_index_built_with_the_fashion_embedder_is_served_with_it_without_being_told()
    {
        using var models = new FashionModels(seed: 2);
        using var folder = new TempFolder("otchatsa-fashion-index-");
        var demo = Path.GetDirectoryName(DemoIndex.Manifest)!;
        var lines = File.ReadLines(DemoIndex.Manifest).ToArray();
        // Twelve demo photos, by absolute path, in a manifest of their own.
        File.WriteAllLines(folder.File("manifest.csv"), lines.Take(1).Concat(lines.Skip(1).Take(12).Select(l => $"{demo}/{l}")));
        var index = folder.File("index");
        using (var engine = new OutfitEngine(ModelPaths.Locate(models.Path, embedderModel: ModelPaths.FashionModel)))
        {
            var summary = await new Otchatsa.Indexing.IndexBuilder(engine).BuildAsync(folder.File("manifest.csv"), index);
            Assert.Equal(12, summary.Indexed);
        }
        Assert.Equal(ModelPaths.FashionId, IndexManifest.Load(index).Models.Single(m => m.Role == "embedding").Id);

        using (var runtime = Otchatsa.Hosting.OtchatsaRuntime.Open(index, models.Path))
        {
            Assert.Equal(ModelPaths.FashionId, runtime.Engine.Embedder.ModelId);
            var result = runtime.Recommender.Recommend(File.ReadAllBytes(DemoIndex.QueryImage), Otchatsa.Recommending.Strategies.Create(null));
            Assert.NotEmpty(result.Recommendation.Malls.SelectMany(m => m.Items));
        }
        var refused = Assert.Throws<IndexIncompatibleException>(() => Otchatsa.Hosting.OtchatsaRuntime.Open(index, models.Path, embedderModel: ModelPaths.ImageNetModel));
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
