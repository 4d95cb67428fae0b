using Otchatsa.OnnxFiles;

namespace Otchatsa.SegmenterImporter;

/// <summary>
/// Converts the TF.js selfie-segmenter graph to an ONNX graph (opset 13).
/// The model keeps the source's NHWC signature (input [1,256,256,3], output [1,256,256,1], same tensor names) so callers
/// fill it straight from interleaved RGB pixels; inside, ONNX convolutions need NCHW, so one Transpose follows the input
/// and one precedes the output. Only the ops this graph uses are mapped; anything else fails loudly.
/// </summary>
internal sealed class OnnxConverter
{
    public const int Opset = 13;

    private readonly TfjsGraph _tf;
    private readonly Dictionary<string, TfNode> _byName;
    // TF tensor name -> (ONNX tensor name, NCHW shape). Constants are not in here; they are emitted where used,
    // in the layout their consumer needs.
    private readonly Dictionary<string, (string Name, int[] Shape)> _tensors = new(StringComparer.Ordinal);
    private readonly List<ProtoMessage> _nodes = [];
    private readonly List<ProtoMessage> _initializers = [];
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _opCounts = new(StringComparer.Ordinal);

    private OnnxConverter(TfjsGraph tf)
    {
        _tf = tf;
        _byName = tf.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
    }

    /// <summary>TF op → count, for the importer's summary.</summary>
    public IReadOnlyDictionary<string, int> OpCounts => _opCounts;

    public static (byte[] Model, IReadOnlyDictionary<string, int> OpCounts) Convert(TfjsGraph tf, string docString,
        IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        var c = new OnnxConverter(tf);
        var graph = c.BuildGraph();
        return (Onnx.Model(graph, Opset, "Otchatsa.SegmenterImporter", "1", docString, metadata), c.OpCounts);
    }

    private ProtoMessage BuildGraph()
    {
        var outNchw = Visit(_tf.OutputName);
        if (outNchw.Shape.Length != 4)
        {
            throw new NotSupportedException("Expected a 4-D output.");
        }
        var outputDims = new long[] { outNchw.Shape[0], outNchw.Shape[2], outNchw.Shape[3], outNchw.Shape[1] };
        _nodes.Add(Onnx.Node("output_to_nhwc", "Transpose", [outNchw.Name], [_tf.OutputName], Onnx.AttrInts("perm", 0, 2, 3, 1)));

        var graph = new ProtoMessage();
        foreach (var n in _nodes)
        {
            graph.Message(1, n);
        }
        graph.String(2, "selfie_segmentation");
        foreach (var i in _initializers)
        {
            graph.Message(5, i);
        }
        graph.Message(11, Onnx.ValueInfo(_tf.InputName, Onnx.Float, _tf.InputShape.Select(d => (long)d).ToArray()));
        graph.Message(12, Onnx.ValueInfo(_tf.OutputName, Onnx.Float, outputDims));
        return graph;
    }

    /// <summary>Depth-first from the output, so the node list is topologically ordered and dead nodes are dropped.</summary>
    private (string Name, int[] Shape) Visit(string tensor)
    {
        tensor = TfjsGraph.StripPort(tensor);
        if (_tensors.TryGetValue(tensor, out var done))
        {
            return done;
        }
        var node = _byName[tensor];
        _opCounts[node.Op] = _opCounts.GetValueOrDefault(node.Op) + 1;
        var result = node.Op switch
        {
            "Placeholder" => Placeholder(node),
            "Identity" => Visit(node.Inputs[0]),
            "Conv2D" => Conv(node, depthwise: false),
            "DepthwiseConv2dNative" => Conv(node, depthwise: true),
            "Conv2DBackpropInput" => ConvTranspose(node),
            "Add" or "AddV2" => Binary(node, "Add"),
            "Mul" => Binary(node, "Mul"),
            "AddN" => AddN(node),
            "Relu" => Unary(node, "Relu"),
            "Sigmoid" => Unary(node, "Sigmoid"),
            "Relu6" => Relu6(node),
            "AvgPool" => AvgPool(node),
            "ResizeBilinear" => Resize(node),
            _ => throw new NotSupportedException(
                $"TF op '{node.Op}' (node '{node.Name}') is not mapped; fused ops such as _FusedConv2D do not occur in selfie.json."),
        };
        _tensors[tensor] = result;
        return result;
    }

    private (string, int[]) Placeholder(TfNode node)
    {
        if (node.Name != _tf.InputName || _tf.InputShape.Length != 4)
        {
            throw new NotSupportedException($"Unexpected placeholder '{node.Name}'.");
        }
        var s = _tf.InputShape;
        var name = node.Name + "_nchw";
        _nodes.Add(Onnx.Node("input_to_nchw", "Transpose", [Out(node)], [name], Onnx.AttrInts("perm", 0, 3, 1, 2)));
        return (name, [s[0], s[3], s[1], s[2]]);
    }

    private (string, int[]) Conv(TfNode node, bool depthwise)
    {
        var (x, shape) = Visit(node.Inputs[0]);
        var filter = Const(node.Inputs[1]);
        RequireNhwc(node);
        var (kh, kw, cin, mult) = (filter.Shape[0], filter.Shape[1], filter.Shape[2], filter.Shape[3]);
        var strides = node.Ints("strides");
        var dilations = node.Ints("dilations");
        var (sh, sw) = (strides[1], strides[2]);
        var (dh, dw) = dilations.Length == 4 ? (dilations[1], dilations[2]) : (1, 1);
        if (cin != shape[1])
        {
            throw new InvalidDataException($"{node.Name}: filter expects {cin} channels, input has {shape[1]}.");
        }

        // TF filters are [kh, kw, in, out] (Conv2D) or [kh, kw, in, multiplier] (depthwise);
        // ONNX wants [out, in/group, kh, kw], and a depthwise conv is a grouped conv with group = in.
        var outC = depthwise ? cin * mult : mult;
        var w = new float[outC * (depthwise ? 1 : cin) * kh * kw];
        var f = filter.Floats!;
        for (var i = 0; i < kh; i++)
        for (var j = 0; j < kw; j++)
        for (var c = 0; c < cin; c++)
        for (var m = 0; m < mult; m++)
        {
            var src = ((i * kw + j) * cin + c) * mult + m;
            var dst = depthwise
                ? ((c * mult + m) * kh + i) * kw + j
                : ((m * cin + c) * kh + i) * kw + j;
            w[dst] = f[src];
        }
        var wName = AddFloatInitializer(node.Name + "/W", depthwise ? [outC, 1, kh, kw] : [outC, cin, kh, kw], w);

        var (outH, padTop, padBottom) = SamePadding(node, shape[2], kh, sh, dh);
        var (outW, padLeft, padRight) = SamePadding(node, shape[3], kw, sw, dw);
        var output = Out(node);
        _nodes.Add(Onnx.Node(node.Name, "Conv", [x, wName], [output],
            Onnx.AttrInts("kernel_shape", kh, kw),
            Onnx.AttrInts("strides", sh, sw),
            Onnx.AttrInts("dilations", dh, dw),
            Onnx.AttrInts("pads", padTop, padLeft, padBottom, padRight),
            Onnx.AttrI("group", depthwise ? cin : 1)));
        return (output, [shape[0], outC, outH, outW]);
    }

    /// <summary>
    /// TF's SAME pads so that out = ceil(in / stride) and puts the odd pixel at the end (bottom/right), unlike
    /// ONNX's symmetric explicit pads — hence explicit, possibly asymmetric pads here.
    /// </summary>
    private static (int Out, int Begin, int End) SamePadding(TfNode node, int size, int k, int stride, int dilation)
    {
        var effective = (k - 1) * dilation + 1;
        switch (node.Str("padding"))
        {
            case "VALID":
                return ((size - effective) / stride + 1, 0, 0);
            case "SAME":
                var outSize = (size + stride - 1) / stride;
                var total = Math.Max((outSize - 1) * stride + effective - size, 0);
                return (outSize, total / 2, total - total / 2);
            default:
                throw new NotSupportedException($"{node.Name}: padding '{node.Str("padding")}' is not supported.");
        }
    }

    private (string, int[]) ConvTranspose(TfNode node)
    {
        // Conv2DBackpropInput(input_sizes, filter, out_backprop): the gradient of a conv, i.e. a transposed conv.
        var sizes = Const(node.Inputs[0]).Ints!;
        var filter = Const(node.Inputs[1]);
        var (x, shape) = Visit(node.Inputs[2]);
        RequireNhwc(node);
        var strides = node.Ints("strides");
        var (sh, sw) = (strides[1], strides[2]);
        if (node.Ints("dilations").Any(d => d != 1))
        {
            throw new NotSupportedException($"{node.Name}: dilated transposed conv is not supported.");
        }
        // Filter is [kh, kw, out, in] here (the forward conv's [kh, kw, in, out] seen from the other side);
        // ONNX ConvTranspose wants [in, out, kh, kw].
        var (kh, kw, outC, inC) = (filter.Shape[0], filter.Shape[1], filter.Shape[2], filter.Shape[3]);
        if (inC != shape[1] || sizes[3] != outC)
        {
            throw new InvalidDataException($"{node.Name}: channel mismatch.");
        }
        var f = filter.Floats!;
        var w = new float[inC * outC * kh * kw];
        for (var i = 0; i < kh; i++)
        for (var j = 0; j < kw; j++)
        for (var o = 0; o < outC; o++)
        for (var c = 0; c < inC; c++)
        {
            w[((c * outC + o) * kh + i) * kw + j] = f[((i * kw + j) * outC + o) * inC + c];
        }
        var wName = AddFloatInitializer(node.Name + "/W", [inC, outC, kh, kw], w);

        var (padTop, padBottom, extraH) = TransposePadding(node, shape[2], sizes[1], kh, sh);
        var (padLeft, padRight, extraW) = TransposePadding(node, shape[3], sizes[2], kw, sw);
        _nodes.Add(Onnx.Node(node.Name, "ConvTranspose", [x, wName], [Out(node)],
            Onnx.AttrInts("kernel_shape", kh, kw),
            Onnx.AttrInts("strides", sh, sw),
            Onnx.AttrInts("pads", padTop, padLeft, padBottom, padRight),
            Onnx.AttrInts("output_padding", extraH, extraW)));
        return (Out(node), [shape[0], outC, sizes[1], sizes[2]]);
    }

    /// <summary>
    /// The transposed conv must crop exactly what the forward SAME conv padded (begin = total/2, rest at the end);
    /// when the full transposed output is too small (kernel &lt; stride), ONNX's output_padding adds the missing rows at the end.
    /// </summary>
    private static (int Begin, int End, int Extra) TransposePadding(TfNode node, int inSize, int outSize, int k, int stride)
    {
        if (node.Str("padding") == "VALID")
        {
            var full = (inSize - 1) * stride + k;
            return (0, 0, outSize - full);
        }
        var fullSame = (inSize - 1) * stride + k;
        var total = Math.Max((inSize - 1) * stride + k - outSize, 0);
        var begin = total / 2;
        return (begin, total - begin, outSize - (fullSame - total));
    }

    private (string, int[]) Binary(TfNode node, string onnxOp)
    {
        var (a, sa) = Operand(node, node.Inputs[0]);
        var (b, sb) = Operand(node, node.Inputs[1]);
        _nodes.Add(Onnx.Node(node.Name, onnxOp, [a, b], [Out(node)]));
        return (Out(node), Broadcast(sa, sb));
    }

    private (string, int[]) AddN(TfNode node)
    {
        var operands = node.Inputs.Where(i => !i.StartsWith('^')).Select(i => Operand(node, i)).ToList();
        var shape = operands.Select(o => o.Shape).Aggregate(Broadcast);
        _nodes.Add(Onnx.Node(node.Name, operands.Count == 2 ? "Add" : "Sum", operands.Select(o => o.Name).ToList(), [Out(node)]));
        return (Out(node), shape);
    }

    /// <summary>
    /// A variable operand is already NCHW. A constant vector of length C broadcasts over the last (channel) axis in NHWC,
    /// so it becomes [C,1,1] to broadcast over axis 1 in NCHW; scalars stay scalars.
    /// </summary>
    private (string Name, int[] Shape) Operand(TfNode node, string input)
    {
        var name = TfjsGraph.StripPort(input);
        if (!_tf.Consts.TryGetValue(name, out var c))
        {
            return Visit(name);
        }
        int[] shape = c.Shape.Length switch
        {
            0 => [],
            1 => [c.Shape[0], 1, 1],
            _ => throw new NotSupportedException($"{node.Name}: constant operand of rank {c.Shape.Length} is not supported."),
        };
        return (AddFloatInitializer(name, shape, c.Floats!), shape);
    }

    private static int[] Broadcast(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            var db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
            {
                throw new InvalidDataException($"Shapes [{string.Join(',', a)}] and [{string.Join(',', b)}] do not broadcast.");
            }
            result[i] = Math.Max(da, db);
        }
        return result;
    }

    private (string, int[]) Unary(TfNode node, string onnxOp)
    {
        var (x, shape) = Visit(node.Inputs[0]);
        _nodes.Add(Onnx.Node(node.Name, onnxOp, [x], [Out(node)]));
        return (Out(node), shape);
    }

    private (string, int[]) Relu6(TfNode node)
    {
        var (x, shape) = Visit(node.Inputs[0]);
        // Since opset 11 Clip takes its bounds as inputs; one shared pair of scalars serves every Relu6.
        var lo = AddFloatInitializer("relu6/min", [], [0f]);
        var hi = AddFloatInitializer("relu6/max", [], [6f]);
        _nodes.Add(Onnx.Node(node.Name, "Clip", [x, lo, hi], [Out(node)]));
        return (Out(node), shape);
    }

    private (string, int[]) AvgPool(TfNode node)
    {
        var (x, shape) = Visit(node.Inputs[0]);
        RequireNhwc(node);
        var k = node.Ints("ksize");
        // Every AvgPool in this graph is the squeeze-and-excitation global average; a general AveragePool mapping
        // (with TF's SAME divisor semantics) is not needed, so refuse instead of guessing.
        if (k[1] != shape[2] || k[2] != shape[3] || node.Str("padding") != "VALID")
        {
            throw new NotSupportedException($"{node.Name}: only AvgPool windows covering the whole feature map are supported.");
        }
        _nodes.Add(Onnx.Node(node.Name, "GlobalAveragePool", [x], [Out(node)]));
        return (Out(node), [shape[0], shape[1], 1, 1]);
    }

    private (string, int[]) Resize(TfNode node)
    {
        var (x, shape) = Visit(node.Inputs[0]);
        var size = Const(node.Inputs[1]).Ints!;
        var mode = (node.Bool("align_corners"), node.Bool("half_pixel_centers")) switch
        {
            (false, true) => "half_pixel",
            (true, false) => "align_corners",
            (false, false) => "asymmetric",
            _ => throw new NotSupportedException($"{node.Name}: align_corners and half_pixel_centers both set."),
        };
        int[] outShape = [shape[0], shape[1], size[0], size[1]];
        var sizes = AddInitializer(node.Name + "/sizes",
            Onnx.Int64Tensor(node.Name + "/sizes", [4], outShape.Select(v => (long)v).ToArray()));
        // Empty names skip the optional roi and scales inputs; sizes alone fixes the output.
        _nodes.Add(Onnx.Node(node.Name, "Resize", [x, "", "", sizes], [Out(node)],
            Onnx.AttrS("mode", "linear"),
            Onnx.AttrS("coordinate_transformation_mode", mode)));
        return (Out(node), outShape);
    }

    /// <summary>ONNX tensor name for a node's output; the graph output name is taken by the final NHWC transpose.</summary>
    private string Out(TfNode node) => node.Name == _tf.OutputName ? node.Name + "_nchw" : node.Name;

    private static void RequireNhwc(TfNode node)
    {
        if (node.Has("data_format") && node.Str("data_format") != "NHWC")
        {
            throw new NotSupportedException($"{node.Name}: data_format {node.Str("data_format")} is not supported.");
        }
    }

    private TfConst Const(string input)
    {
        var name = TfjsGraph.StripPort(input);
        return _tf.Consts.TryGetValue(name, out var c)
            ? c
            : throw new NotSupportedException($"'{name}' must be a constant.");
    }

    private string AddFloatInitializer(string name, int[] dims, float[] values) =>
        AddInitializer(name, Onnx.FloatTensor(name, dims.Select(d => (long)d).ToArray(), values));

    private string AddInitializer(string name, ProtoMessage tensor)
    {
        if (_initializerNames.Add(name))
        {
            _initializers.Add(tensor);
        }
        return name;
    }
}
