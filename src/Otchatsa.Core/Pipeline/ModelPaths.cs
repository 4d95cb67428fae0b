namespace Otchatsa.Pipeline;

/// <summary>
/// Where the ONNX models are. ResNet18 and its preprocessing come from the NuGet package
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (copied next to the binaries as <c>DnnImageModels/</c>); the person
/// segmenter and the style head are the project's own files under <c>models/</c>.
/// </summary>
public sealed record ModelPaths(string ResNet, string ResNetPreprocess, string Segmenter, string? StyleHead)
{
    public const string ResNetId = "resnet18-dnnimagefeaturizer-0.23.1";
    public const string SegmenterId = "mediapipe-selfie-segmentation";

    /// <summary>Finds the models beside the application, or in <paramref name="modelsPath"/> when given.</summary>
    public static ModelPaths Locate(string? modelsPath = null)
    {
        var baseDir = AppContext.BaseDirectory;
        var models = string.IsNullOrWhiteSpace(modelsPath) ? Path.Combine(baseDir, "models") : Path.GetFullPath(modelsPath);
        var dnn = Path.Combine(baseDir, "DnnImageModels");
        var paths = new ModelPaths(
            Path.Combine(dnn, "ResNet18Onnx", "ResNet18.onnx"),
            Path.Combine(dnn, "ResNetPrepOnnx", "ResNetPreprocess.onnx"),
            Path.Combine(models, "selfie_segmentation.onnx"),
            File.Exists(Path.Combine(models, "style_head.onnx")) ? Path.Combine(models, "style_head.onnx") : null);
        foreach (var required in new[] { paths.ResNet, paths.ResNetPreprocess, paths.Segmenter })
        {
            if (!File.Exists(required))
            {
                throw new FileNotFoundException(
                    $"Model file '{required}' is missing. Build the solution (it copies the models) or set Otchatsa:ModelsPath.",
                    required);
            }
        }
        return paths;
    }
}
