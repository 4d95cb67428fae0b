using Otchatsa.Catalog;
using Otchatsa.OnnxFiles;
using Otchatsa.Pipeline;
using Otchatsa.Vision;

namespace Otchatsa.Tests.Support;

/// <summary>
/// A models folder holding a fashion embedder delta made here, so the tests need neither PyTorch nor a trained delta
/// (the trained one is 13 MB and not kept in git; the tool's own test checks a trained delta against PyTorch): the
/// segmenter, and the last three convolutions of the package's ResNet18 changed by seeded int8 steps of 0.002 (enough to
/// move every embedding), with a card naming the package's and the delta's SHA-256. Disposing deletes the folder and the
/// model-cache files the engine made from it (each seed gives other file names, so test assemblies running side by side
/// never share one).
/// </summary>
public sealed class FashionModels : IDisposable
{
    public const float Step = 0.002f;

    private readonly TempFolder _folder = new("otchatsa-fashion-models-");

    public FashionModels(int seed)
    {
        var package = ModelPaths.Locate(embedderModel: ModelPaths.ImageNetModel);
        File.Copy(package.Segmenter, System.IO.Path.Combine(Path, System.IO.Path.GetFileName(package.Segmenter)));
        var graph = OnnxModel.Parse(File.ReadAllBytes(package.ResNet));
        var random = new Random(seed);
        var changes = new List<OnnxTensor>();
        foreach (var conv in graph.Nodes.Where(n => n.OpType == "Conv").TakeLast(3))
        {
            var weight = graph.Initializers[conv.Inputs[1]];
            var q = new sbyte[weight.ElementCount];
            for (var i = 0; i < q.Length; i++)
            {
                q[i] = (sbyte)random.Next(-127, 128);
            }
            changes.Add(OnnxTensor.Of(weight.Name, weight.Dims, q));
            changes.Add(OnnxTensor.Of(weight.Name + EmbedderDelta.ScaleSuffix, [weight.Dims[0]], Enumerable.Repeat(Step, (int)weight.Dims[0]).ToArray()));
            ChangedTensors.Add(weight.Name);
        }
        var proto = new ProtoMessage().String(2, "otchatsa-embedder-delta");
        foreach (var tensor in changes)
        {
            proto.Message(5, tensor.ToProto());
        }
        File.WriteAllBytes(Delta, Onnx.Model(proto, 13, "otchatsa tests", "1", "", []));
        DeltaSha256 = IndexManifest.Sha256OfFile(Delta);
        File.WriteAllText(System.IO.Path.Combine(Path, EmbedderDelta.CardFileName),
            $$"""{"model": "{{EmbedderDelta.FileName}}", "sha256": "{{DeltaSha256}}", "base_sha256": "{{IndexManifest.Sha256OfFile(package.ResNet)}}"}""");
    }

    /// <summary>The models folder (pass it as <c>--models</c> / <c>modelsPath</c>).</summary>
    public string Path => _folder.Path;

    public string Delta => System.IO.Path.Combine(Path, EmbedderDelta.FileName);

    public string DeltaSha256 { get; }

    /// <summary>The package initializers the delta changes.</summary>
    public List<string> ChangedTensors { get; } = [];

    public void Dispose()
    {
        _folder.Dispose();
        var root = ResNetModelFiles.CacheRoot;
        if (!Directory.Exists(root))
        {
            return;
        }
        foreach (var merged in Directory.GetFiles(root, $"resnet18-fashion-{DeltaSha256[..16]}-*"))
        {
            var sha = IndexManifest.Sha256OfFile(merged);
            foreach (var batched in Directory.GetFiles(root, $"resnet18-fp32-{sha[..16]}-*"))
            {
                File.Delete(batched);
            }
            File.Delete(merged);
        }
    }
}
