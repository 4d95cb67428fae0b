using Otchatsa.OnnxFiles;


namespace Otchatsa.Vision;

/// <summary>Calibrated range of one activation tensor of the quantized network.</summary>
public sealed record ActivationRange(string Tensor, float Min, float Max);

/// <summary>
/// Rewrites the NuGet ResNet18 (CNTK export, opset 8, batch 1) with the project's own ONNX reader/writer:
/// <list type="bullet">
/// <item><see cref="Batched"/>: the same graph with a symbolic batch dimension (N×3×224×224 in, N×512×1×1 out), so the
/// views of a photo run as one batch.</item>
/// <item><see cref="Folded"/>: batched, opset 13, every BatchNormalization folded into the Conv before it (weights
/// scaled per output channel, a bias added). The graph calibration runs on.</item>
/// <item><see cref="Quantize"/>: the folded graph as static QDQ int8: per-output-channel symmetric int8 weights,
/// int32 biases (scale = input scale × weight scale), uint8 activations with calibrated per-tensor ranges; a Relu
/// after a Conv or Add is folded into the following QuantizeLinear (zero point 0 clips at zero exactly). ONNX Runtime's
/// CPU provider fuses DQ→Conv→Q into QLinearConv and DQ→Add→Q into QLinearAdd, and runs MaxPool on uint8.</item>
/// </list>
/// Every step is deterministic: equal inputs give equal bytes, so the int8 model is identified by its SHA-256 and can be
/// rebuilt at start-up from the fp32 file and the ranges in its model card instead of being committed (11 MB).
/// </summary>
public static class ResNetQuantizer
{
    public const int Opset = 13;
    private const long IrVersion = 7;

    /// <summary>The graph with its input and output batch dimension made symbolic; otherwise unchanged.</summary>
    public static byte[] Batched(byte[] fp32)
    {
        var model = OnnxModel.Parse(fp32);
        SymbolicBatch(model);
        model.IrVersion = Math.Max(model.IrVersion, 4);
        return model.ToBytes();
    }

    /// <summary>Batched, BatchNormalization folded into the Convs, opset 13.</summary>
    public static byte[] Folded(byte[] fp32) => FoldedModel(fp32).ToBytes();

    /// <summary>
    /// The tensors that get a QuantizeLinear/DequantizeLinear pair: every non-constant input of a Conv, Add, MaxPool
    /// or AveragePool in the folded graph. Calibration records the range of each.
    /// </summary>
    public static IReadOnlyList<string> QuantizedTensors(byte[] fp32) => TensorsToQuantize(FoldedModel(fp32));

    /// <summary>The folded graph with every <see cref="QuantizedTensors"/> entry added as a graph output, for calibration.</summary>
    public static byte[] CalibrationModel(byte[] fp32)
    {
        var model = FoldedModel(fp32);
        foreach (var tensor in TensorsToQuantize(model))
        {
            if (model.Outputs.All(o => o.Name != tensor))
            {
                // Element type only, no shape: the recorded tensors have several ranks.
                var type = new ProtoMessage().Message(1, new ProtoMessage().Int64(1, Onnx.Float));
                model.Outputs.Add((tensor, new ProtoMessage().String(1, tensor).Message(2, type).ToArray()));
            }
        }
        return model.ToBytes();
    }

    /// <summary>The static QDQ int8 model for the given activation ranges (one per <see cref="QuantizedTensors"/> entry).</summary>
    public static byte[] Quantize(byte[] fp32, IReadOnlyList<ActivationRange> ranges)
    {
        var model = FoldedModel(fp32);
        var byName = ranges.ToDictionary(r => r.Tensor, StringComparer.Ordinal);
        var tensors = TensorsToQuantize(model);
        var parameters = new Dictionary<string, (float Scale, byte ZeroPoint)>(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            // A MaxPool output keeps its input's parameters: ONNX Runtime then drops the pair around the MaxPool and
            // pools the uint8 values directly (the maximum of quantized values is the quantized maximum).
            var producer = model.Producer(tensor);
            var range = producer?.OpType == "MaxPool" && byName.TryGetValue(producer.Inputs[0], out var input)
                ? input
                : byName.TryGetValue(tensor, out var r) ? r
                : throw new InvalidDataException($"No calibrated range for tensor '{tensor}'.");
            parameters[tensor] = UInt8Parameters(range.Min, range.Max);
        }

        var nodes = new List<OnnxNode>();
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var removedRelus = new HashSet<OnnxNode>();
        foreach (var tensor in tensors)
        {
            var producer = model.Producer(tensor);
            var (scale, zeroPoint) = parameters[tensor];
            model.Initializers[tensor + "_scale"] = OnnxTensor.Of(tensor + "_scale", [], [scale]);
            model.Initializers[tensor + "_zero_point"] = OnnxTensor.OfBytes(tensor + "_zero_point", [], [zeroPoint]);
            string quantizeFrom, dequantizeTo;
            if (producer is { OpType: "Relu" } relu && zeroPoint == 0
                && model.Producer(relu.Inputs[0]) is { OpType: "Conv" or "Add" }
                && model.Consumers(relu.Inputs[0]).Count() == 1)
            {
                // Quantizing with zero point 0 clips negatives to 0: the Relu is the QuantizeLinear itself.
                removedRelus.Add(relu);
                quantizeFrom = relu.Inputs[0];
                dequantizeTo = tensor;
            }
            else
            {
                quantizeFrom = tensor;
                dequantizeTo = tensor + "_dq";
                renamed[tensor] = dequantizeTo;
            }
            nodes.Add(QdqNode("QuantizeLinear", tensor + "_quantize", [quantizeFrom, tensor + "_scale", tensor + "_zero_point"], tensor + "_q"));
            nodes.Add(QdqNode("DequantizeLinear", tensor + "_dequantize", [tensor + "_q", tensor + "_scale", tensor + "_zero_point"], dequantizeTo));
        }

        foreach (var node in model.Nodes.Where(n => !removedRelus.Contains(n)))
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (renamed.TryGetValue(node.Inputs[i], out var to))
                {
                    node.Inputs[i] = to;
                }
            }
            if (node.OpType == "Conv")
            {
                nodes.AddRange(QuantizeConvParameters(model, node, parameters[FindSource(node.Inputs[0], renamed)].Scale));
            }
            nodes.Add(node);
        }
        model.Nodes.Clear();
        model.Nodes.AddRange(TopologicalOrder(nodes, model));
        return model.ToBytes();
    }

    /// <summary>How many nodes of each op type a model has (e.g. to see what ONNX Runtime fused an optimized graph into).</summary>
    public static IReadOnlyDictionary<string, int> OpCounts(byte[] model) =>
        OnnxModel.Parse(model).Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>uint8 parameters for a range: zero point 0 for a non-negative range (after a Relu), else asymmetric.</summary>
    public static (float Scale, byte ZeroPoint) UInt8Parameters(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        var scale = (max - min) / 255f;
        if (scale <= 0 || !float.IsFinite(scale))
        {
            return (1f, 0);
        }
        var zeroPoint = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        return (scale, zeroPoint);
    }

    private static string FindSource(string input, Dictionary<string, string> renamed) =>
        renamed.FirstOrDefault(kv => kv.Value == input).Key ?? input;

    private static IEnumerable<OnnxNode> QuantizeConvParameters(OnnxModel model, OnnxNode conv, float inputScale)
    {
        var weightName = conv.Inputs[1];
        var weight = model.Initializers[weightName];
        var w = weight.Floats();
        var channels = (int)weight.Dims[0];
        var perChannel = w.Length / channels;
        var scales = new float[channels];
        var q = new sbyte[w.Length];
        for (var c = 0; c < channels; c++)
        {
            var max = 0f;
            for (var i = 0; i < perChannel; i++)
            {
                max = Math.Max(max, Math.Abs(w[c * perChannel + i]));
            }
            // Symmetric int8 in [-127, 127], zero point 0: what the VNNI kernels expect for weights.
            scales[c] = max > 0 ? max / 127f : 1f;
            for (var i = 0; i < perChannel; i++)
            {
                q[c * perChannel + i] = (sbyte)Math.Clamp(Math.Round(w[c * perChannel + i] / scales[c]), -127, 127);
            }
        }
        model.Initializers.Remove(weightName);
        model.Initializers[weightName + "_q"] = OnnxTensor.Of(weightName + "_q", weight.Dims, q);
        model.Initializers[weightName + "_scale"] = OnnxTensor.Of(weightName + "_scale", [channels], scales);
        model.Initializers[weightName + "_zero_point"] = OnnxTensor.Of(weightName + "_zero_point", [channels], new sbyte[channels]);
        yield return QdqNode("DequantizeLinear", weightName + "_dequantize",
            [weightName + "_q", weightName + "_scale", weightName + "_zero_point"], weightName, axis: 0);

        var biasName = conv.Inputs[2];
        var bias = model.Initializers[biasName].Floats();
        var biasScales = new float[channels];
        var biasQ = new int[channels];
        for (var c = 0; c < channels; c++)
        {
            biasScales[c] = inputScale * scales[c];
            biasQ[c] = (int)Math.Clamp(Math.Round(bias[c] / biasScales[c]), int.MinValue, int.MaxValue);
        }
        model.Initializers.Remove(biasName);
        model.Initializers[biasName + "_q"] = OnnxTensor.Of(biasName + "_q", [channels], biasQ);
        model.Initializers[biasName + "_scale"] = OnnxTensor.Of(biasName + "_scale", [channels], biasScales);
        model.Initializers[biasName + "_zero_point"] = OnnxTensor.Of(biasName + "_zero_point", [channels], new int[channels]);
        yield return QdqNode("DequantizeLinear", biasName + "_dequantize",
            [biasName + "_q", biasName + "_scale", biasName + "_zero_point"], biasName, axis: 0);
    }

    private static OnnxNode QdqNode(string op, string name, string[] inputs, string output, long? axis = null)
    {
        var node = new OnnxNode { Name = name, OpType = op };
        node.Inputs.AddRange(inputs);
        node.Outputs.Add(output);
        if (axis is { } a)
        {
            node.Attributes.Add(new OnnxAttribute("axis", 0, a, [], Onnx.AttrI("axis", a).ToArray()));
        }
        return node;
    }

    private static List<OnnxNode> TopologicalOrder(List<OnnxNode> nodes, OnnxModel model)
    {
        var available = new HashSet<string>(model.Initializers.Keys, StringComparer.Ordinal);
        foreach (var (name, _) in model.Inputs)
        {
            available.Add(name);
        }
        var pending = new List<OnnxNode>(nodes);
        var ordered = new List<OnnxNode>(nodes.Count);
        while (pending.Count > 0)
        {
            var ready = pending.FindIndex(n => n.Inputs.All(i => i.Length == 0 || available.Contains(i)));
            if (ready < 0)
            {
                throw new InvalidDataException($"The rewritten graph has a cycle or a missing input at '{pending[0].Name}'.");
            }
            var node = pending[ready];
            pending.RemoveAt(ready);
            ordered.Add(node);
            foreach (var o in node.Outputs)
            {
                available.Add(o);
            }
        }
        return ordered;
    }

    private static List<string> TensorsToQuantize(OnnxModel model)
    {
        var tensors = new List<string>();
        foreach (var node in model.Nodes.Where(n => n.OpType is "Conv" or "Add" or "MaxPool" or "AveragePool"))
        {
            var inputs = node.OpType == "Conv" ? node.Inputs.Take(1) : node.Inputs;
            foreach (var input in inputs.Where(i => i.Length > 0 && !model.Initializers.ContainsKey(i) && !tensors.Contains(i)))
            {
                tensors.Add(input);
            }
        }
        return tensors;
    }

    private static OnnxModel FoldedModel(byte[] fp32)
    {
        var model = OnnxModel.Parse(fp32);
        SymbolicBatch(model);
        FoldBatchNorms(model);
        model.IrVersion = IrVersion;
        model.Opsets.Clear();
        model.Opsets.Add(("", Opset));
        return model;
    }

    private static void SymbolicBatch(OnnxModel model)
    {
        if (model.Inputs.Count != 1 || model.Outputs.Count != 1)
        {
            throw new InvalidDataException($"Expected one input and one output, found {model.Inputs.Count} and {model.Outputs.Count}.");
        }
        model.Inputs[0] = (model.Inputs[0].Name,
            Onnx.ValueInfo(model.Inputs[0].Name, Onnx.Float, [-1, 3, ResNetEmbedder.InputSize, ResNetEmbedder.InputSize]).ToArray());
        model.Outputs[0] = (model.Outputs[0].Name,
            Onnx.ValueInfo(model.Outputs[0].Name, Onnx.Float, [-1, ResNetEmbedder.Dimensions, 1, 1]).ToArray());
    }

    private static void FoldBatchNorms(OnnxModel model)
    {
        foreach (var bn in model.Nodes.Where(n => n.OpType == "BatchNormalization").ToList())
        {
            var conv = model.Producer(bn.Inputs[0]);
            if (conv is not { OpType: "Conv" } || model.Consumers(bn.Inputs[0]).Count() != 1)
            {
                throw new InvalidDataException($"BatchNormalization '{bn.Name}' does not follow a Conv alone; cannot fold it.");
            }
            var epsilon = bn.Attribute("epsilon")?.F ?? 1e-5f;
            var gamma = model.Initializers[bn.Inputs[1]].Floats();
            var beta = model.Initializers[bn.Inputs[2]].Floats();
            var mean = model.Initializers[bn.Inputs[3]].Floats();
            var variance = model.Initializers[bn.Inputs[4]].Floats();
            var weight = model.Initializers[conv.Inputs[1]];
            var w = weight.Floats();
            var channels = (int)weight.Dims[0];
            var perChannel = w.Length / channels;
            var bias = conv.Inputs.Count > 2 ? model.Initializers[conv.Inputs[2]].Floats() : new float[channels];
            for (var c = 0; c < channels; c++)
            {
                var factor = gamma[c] / MathF.Sqrt(variance[c] + epsilon);
                for (var i = 0; i < perChannel; i++)
                {
                    w[c * perChannel + i] *= factor;
                }
                bias[c] = (bias[c] - mean[c]) * factor + beta[c];
            }
            model.Initializers[conv.Inputs[1]] = OnnxTensor.Of(conv.Inputs[1], weight.Dims, w);
            var biasName = conv.Inputs.Count > 2 ? conv.Inputs[2] : conv.Inputs[1] + "_bias";
            model.Initializers[biasName] = OnnxTensor.Of(biasName, [channels], bias);
            if (conv.Inputs.Count < 3)
            {
                conv.Inputs.Add(biasName);
            }
            conv.Outputs[0] = bn.Outputs[0];
            foreach (var name in bn.Inputs.Skip(1))
            {
                if (!model.Nodes.Any(n => n != bn && n.Inputs.Contains(name)))
                {
                    model.Initializers.Remove(name);
                }
            }
            model.Nodes.Remove(bn);
        }
    }
}
