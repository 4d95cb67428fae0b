using Otchatsa.OnnxFiles;
using Otchatsa.Styles;

namespace Otchatsa.Training;

/// <summary>
/// Writes a <see cref="LinearStyleHead"/> as a small ONNX graph ([Relu → Sqrt →] MatMul → Add → Softmax, opset 13):
/// input <c>embedding</c> [N, D], output <c>probabilities</c> [N, K]. Microsoft.ML.OnnxConverter 0.23.1 does export
/// ML.NET 5 models (checked), but its graph is named after ML.NET's columns and has no place for the class list; this
/// graph has fixed names and keeps classes and view in the model's metadata, so the ONNX file is
/// self-describing. Tests check it against ML.NET's own predictions.
/// </summary>
public static class StyleHeadOnnx
{
    public static byte[] ToOnnx(LinearStyleHead head, string embeddingView, HeadServing? serving = null)
    {
        var k = head.Classes.Count;
        var d = head.Dimensions;
        // MatMul wants W as [D, K]: transpose the class-major rows.
        var w = new float[d * k];
        for (var c = 0; c < k; c++)
        {
            for (var i = 0; i < d; i++)
            {
                w[i * k + c] = head.Weights[c][i];
            }
        }
        var graph = new ProtoMessage();
        var x = StyleHeadFormat.InputName;
        if (head.SquareRootInput)
        {
            graph.Message(1, Onnx.Node("clip_negative", "Relu", [StyleHeadFormat.InputName], ["relu"]))
                .Message(1, Onnx.Node("square_root", "Sqrt", ["relu"], ["sqrt"]));
            x = "sqrt";
        }
        graph
            .Message(1, Onnx.Node("logits_matmul", "MatMul", [x, "W"], ["xw"]))
            .Message(1, Onnx.Node("logits_bias", "Add", ["xw", "B"], ["logits"]))
            .Message(1, Onnx.Node("softmax", "Softmax", ["logits"], [StyleHeadFormat.OutputName], Onnx.AttrI("axis", 1)));
        var prototypes = serving?.Prototypes;
        if (prototypes is not null)
        {
            graph.Message(1, Onnx.Node("prototype_matmul", "MatMul", [StyleHeadFormat.InputName, "P"], ["cosines"]))
                .Message(1, Onnx.Node("outfit_max", "ReduceMax", ["cosines"], [StyleHeadFormat.OutfitOutputName], Onnx.AttrInts("axes", 1), Onnx.AttrI("keepdims", 1)));
        }
        graph
            .String(2, "otchatsa_style_head")
            .Message(5, Onnx.FloatTensor("W", [d, k], w))
            .Message(5, Onnx.FloatTensor("B", [k], head.Bias));
        if (prototypes is not null)
        {
            var p = new float[d * prototypes.Count];
            for (var c = 0; c < prototypes.Count; c++)
            {
                for (var i = 0; i < d; i++)
                {
                    p[i * prototypes.Count + c] = prototypes[c][i];
                }
            }
            graph.Message(5, Onnx.FloatTensor("P", [d, prototypes.Count], p));
        }
        graph
            .Message(11, Onnx.ValueInfo(StyleHeadFormat.InputName, Onnx.Float, [-1, d]))
            .Message(12, Onnx.ValueInfo(StyleHeadFormat.OutputName, Onnx.Float, [-1, k]));
        if (prototypes is not null)
        {
            graph.Message(12, Onnx.ValueInfo(StyleHeadFormat.OutfitOutputName, Onnx.Float, [-1, 1]));
        }
        var metadata = new List<KeyValuePair<string, string>>
        {
            new(StyleHeadFormat.ClassesKey, string.Join(",", head.Classes.Select(c => c.Id))),
            new(StyleHeadFormat.ViewKey, embeddingView),
        };
        if (serving is not null)
        {
            string F(float v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            if (serving.Examples is { } examples)
            {
                metadata.Add(new(StyleHeadFormat.ExamplesKey, string.Join(",", examples)));
            }
            metadata.Add(new(StyleHeadFormat.MixTemperatureKey, F(serving.MixTemperature)));
            metadata.Add(new(StyleHeadFormat.MixTemperatureSlopeKey, F(serving.MixTemperatureSlope)));
            metadata.Add(new(StyleHeadFormat.UnsureBelowKey, F(serving.UnsureBelow)));
            metadata.Add(new(StyleHeadFormat.ParentSureKey, F(serving.ParentSureAbove)));
            if (prototypes is not null)
            {
                metadata.Add(new(StyleHeadFormat.OutfitThresholdKey, F(serving.OutfitThreshold)));
            }
        }
        return Onnx.Model(graph, 13, "otchatsa style train", "1",
            "Otchatsa style head: softmax(embedding · W + B) over K-Fashion styles; outfit_similarity = max cosine to the styles' mean embeddings.",
            metadata);
    }
}

/// <summary>
/// What the served head needs besides its weights, written into the ONNX metadata: examples per class, the calibrated
/// thresholds and the prototypes for the "not an outfit" check (all fitted on cross-validation folds by
/// <c>otchatsa style train</c>).
/// </summary>
public sealed record HeadServing
{
    public IReadOnlyList<int>? Examples { get; init; }

    public float MixTemperature { get; init; } = 1f;

    public float MixTemperatureSlope { get; init; }

    public float UnsureBelow { get; init; } = 0.45f;

    public float ParentSureAbove { get; init; } = 1f;

    /// <summary>Unit-length mean embedding per class (any number of prototypes; only their best cosine is output).</summary>
    public IReadOnlyList<float[]>? Prototypes { get; init; }

    public float OutfitThreshold { get; init; }
}
