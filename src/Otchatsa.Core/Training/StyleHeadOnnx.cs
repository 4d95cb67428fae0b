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
    public const string InputName = "embedding";
    public const string OutputName = "probabilities";

    /// <summary>Metadata key holding the class ids, comma-separated, in output order.</summary>
    public const string ClassesKey = "otchatsa.classes";

    /// <summary>Metadata key holding the embedding view the head was trained on.</summary>
    public const string ViewKey = "otchatsa.embedding_view";

    public static byte[] ToOnnx(LinearStyleHead head, string embeddingView)
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
        var x = InputName;
        if (head.SquareRootInput)
        {
            graph.Message(1, Onnx.Node("clip_negative", "Relu", [InputName], ["relu"]))
                .Message(1, Onnx.Node("square_root", "Sqrt", ["relu"], ["sqrt"]));
            x = "sqrt";
        }
        graph
            .Message(1, Onnx.Node("logits_matmul", "MatMul", [x, "W"], ["xw"]))
            .Message(1, Onnx.Node("logits_bias", "Add", ["xw", "B"], ["logits"]))
            .Message(1, Onnx.Node("softmax", "Softmax", ["logits"], [OutputName], Onnx.AttrI("axis", 1)))
            .String(2, "otchatsa_style_head")
            .Message(5, Onnx.FloatTensor("W", [d, k], w))
            .Message(5, Onnx.FloatTensor("B", [k], head.Bias))
            .Message(11, Onnx.ValueInfo(InputName, Onnx.Float, [-1, d]))
            .Message(12, Onnx.ValueInfo(OutputName, Onnx.Float, [-1, k]));
        return Onnx.Model(graph, 13, "otchatsa style train", "1",
            "Otchatsa style head: softmax(embedding · W + B) over K-Fashion styles.",
            [
                new(ClassesKey, string.Join(",", head.Classes.Select(c => c.Id))),
                new(ViewKey, embeddingView),
            ]);
    }
}
