using Google.Protobuf;

namespace Otchatsa.OnnxFiles;

/// <summary>An attribute of an ONNX node: the fields the project reads, and its original bytes to write it back unchanged.</summary>
public sealed record OnnxAttribute(string Name, float F, long I, long[] Ints, byte[] Raw);

/// <summary>An ONNX node (NodeProto) as read; attributes are kept as bytes so a rewritten graph keeps them exactly.</summary>
public sealed class OnnxNode
{
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<OnnxAttribute> Attributes { get; } = [];

    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    public ProtoMessage ToProto() =>
        Onnx.Node(Name, OpType, Inputs, Outputs, Attributes.Select(a => a.Raw), Domain);
}

/// <summary>An initializer (TensorProto) as read: name, element type, dimensions and its little-endian raw bytes.</summary>
public sealed record OnnxTensor(string Name, int DataType, long[] Dims, byte[] Raw)
{
    public const int Float = 1;
    public const int UInt8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;

    public long ElementCount => Dims.Aggregate(1L, (a, b) => a * b);

    public float[] Floats()
    {
        if (DataType != Float)
        {
            throw new InvalidDataException($"Tensor '{Name}' is not float (type {DataType}).");
        }
        var values = new float[Raw.Length / 4];
        Buffer.BlockCopy(Raw, 0, values, 0, Raw.Length);
        return values;
    }

    public static OnnxTensor Of(string name, long[] dims, float[] values) => new(name, Float, dims, Onnx.RawData(values));

    public static OnnxTensor Of(string name, long[] dims, int[] values) => new(name, Int32, dims, Onnx.RawData(values));

    public static OnnxTensor Of(string name, long[] dims, sbyte[] values) => new(name, Int8, dims, Onnx.RawData(values));

    public static OnnxTensor OfBytes(string name, long[] dims, byte[] values) => new(name, UInt8, dims, values);

    public ProtoMessage ToProto() => Onnx.Tensor(Name, DataType, Dims, Raw);
}

/// <summary>
/// A whole ONNX model read into an editable form: the graph's nodes, initializers and input/output names, and every
/// other field of the model and graph kept as bytes. Written back with <see cref="ToBytes"/> through
/// <see cref="ProtoMessage"/>, so the project reads and writes ONNX with Google.Protobuf's coded streams alone (field
/// numbers from onnx/onnx.proto), without generated classes.
/// </summary>
public sealed class OnnxModel
{
    public long IrVersion { get; set; }
    public List<(string Domain, long Version)> Opsets { get; } = [];
    public string GraphName { get; set; } = "";
    public List<OnnxNode> Nodes { get; } = [];
    public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>Graph inputs that are not initializers, as raw ValueInfoProto bytes by name.</summary>
    public List<(string Name, byte[] Raw)> Inputs { get; } = [];

    public List<(string Name, byte[] Raw)> Outputs { get; } = [];

    /// <summary>Model-level fields other than ir_version, graph and opset_import (producer, metadata, …), with their field number.</summary>
    public List<(int Field, WireFormat.WireType Type, byte[] Raw, long Varint)> OtherModelFields { get; } = [];

    public static OnnxModel Parse(byte[] bytes)
    {
        var model = new OnnxModel();
        var input = new CodedInputStream(bytes);
        byte[]? graph = null;
        foreach (var (field, type) in Fields(input))
        {
            switch (field)
            {
                case 1:
                    model.IrVersion = input.ReadInt64();
                    break;
                case 7:
                    graph = Owned(input.ReadBytes());
                    break;
                case 8:
                    model.Opsets.Add(ParseOpset(Owned(input.ReadBytes())));
                    break;
                default:
                    if (type == WireFormat.WireType.LengthDelimited)
                    {
                        model.OtherModelFields.Add((field, type, Owned(input.ReadBytes()), 0));
                    }
                    else if (type == WireFormat.WireType.Varint)
                    {
                        model.OtherModelFields.Add((field, type, [], input.ReadInt64()));
                    }
                    else
                    {
                        input.SkipLastField();
                    }
                    break;
            }
        }
        if (graph is null)
        {
            throw new InvalidDataException("The ONNX model has no graph.");
        }
        model.ParseGraph(graph);
        return model;
    }

    public byte[] ToBytes()
    {
        var graph = new ProtoMessage();
        foreach (var node in Nodes)
        {
            graph.Message(1, node.ToProto());
        }
        graph.String(2, GraphName);
        foreach (var tensor in Initializers.Values)
        {
            graph.Message(5, tensor.ToProto());
        }
        foreach (var (_, raw) in Inputs)
        {
            graph.Bytes(11, raw);
        }
        foreach (var (_, raw) in Outputs)
        {
            graph.Bytes(12, raw);
        }
        var model = new ProtoMessage().Int64(1, IrVersion);
        foreach (var (field, type, raw, varint) in OtherModelFields)
        {
            if (type == WireFormat.WireType.Varint)
            {
                model.Int64(field, varint);
            }
            else
            {
                model.Bytes(field, raw);
            }
        }
        model.Message(7, graph);
        foreach (var (domain, version) in Opsets)
        {
            model.Message(8, Onnx.OpsetId(domain, version));
        }
        return model.ToArray();
    }

    /// <summary>The node producing <paramref name="tensor"/>, if any.</summary>
    public OnnxNode? Producer(string tensor) => Nodes.FirstOrDefault(n => n.Outputs.Contains(tensor));

    /// <summary>The nodes reading <paramref name="tensor"/>.</summary>
    public IEnumerable<OnnxNode> Consumers(string tensor) => Nodes.Where(n => n.Inputs.Contains(tensor));

    private void ParseGraph(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        var inputs = new List<(string, byte[])>();
        foreach (var (field, _) in Fields(input))
        {
            switch (field)
            {
                case 1:
                    Nodes.Add(ParseNode(Owned(input.ReadBytes())));
                    break;
                case 2:
                    GraphName = input.ReadString();
                    break;
                case 5:
                    var tensor = ParseTensor(Owned(input.ReadBytes()));
                    Initializers[tensor.Name] = tensor;
                    break;
                case 11:
                    var raw = Owned(input.ReadBytes());
                    inputs.Add((ValueInfoName(raw), raw));
                    break;
                case 12:
                    var output = Owned(input.ReadBytes());
                    Outputs.Add((ValueInfoName(output), output));
                    break;
                default:
                    // value_info (shapes the writer may no longer match), doc strings, sparse initializers: dropped;
                    // ONNX Runtime infers shapes itself.
                    input.SkipLastField();
                    break;
            }
        }
        // Before IR 4 initializers were also listed as inputs; a rewritten graph lists only the real inputs.
        Inputs.AddRange(inputs.Where(i => !Initializers.ContainsKey(i.Item1)));
    }

    private static (string, long) ParseOpset(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        string domain = "";
        long version = 0;
        foreach (var (field, _) in Fields(input))
        {
            switch (field)
            {
                case 1: domain = input.ReadString(); break;
                case 2: version = input.ReadInt64(); break;
                default: input.SkipLastField(); break;
            }
        }
        return (domain, version);
    }

    private static string ValueInfoName(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        foreach (var (field, _) in Fields(input))
        {
            if (field == 1)
            {
                return input.ReadString();
            }
            input.SkipLastField();
        }
        return "";
    }

    private static OnnxNode ParseNode(byte[] bytes)
    {
        var node = new OnnxNode();
        var input = new CodedInputStream(bytes);
        foreach (var (field, _) in Fields(input))
        {
            switch (field)
            {
                case 1: node.Inputs.Add(input.ReadString()); break;
                case 2: node.Outputs.Add(input.ReadString()); break;
                case 3: node.Name = input.ReadString(); break;
                case 4: node.OpType = input.ReadString(); break;
                case 5: node.Attributes.Add(ParseAttribute(Owned(input.ReadBytes()))); break;
                case 7: node.Domain = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return node;
    }

    private static OnnxAttribute ParseAttribute(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        string name = "";
        float f = 0;
        long i = 0;
        var ints = new List<long>();
        foreach (var (field, type) in Fields(input))
        {
            switch (field)
            {
                case 1: name = input.ReadString(); break;
                case 2: f = input.ReadFloat(); break;
                case 3: i = input.ReadInt64(); break;
                case 8: ReadInt64s(input, type, ints); break;
                default: input.SkipLastField(); break;
            }
        }
        return new OnnxAttribute(name, f, i, [.. ints], bytes);
    }

    /// <summary>
    /// The bytes of a field read by <see cref="CodedInputStream.ReadBytes"/>. Reading from an array, it copies them into a
    /// new array of exactly their length and wraps it; that array is taken over instead of copied a second time (the
    /// network's 45 MB of weights were otherwise copied twice per nesting level on every parse).
    /// </summary>
    private static byte[] Owned(ByteString bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes.Memory, out var segment)
        && segment.Array is { } array && segment.Offset == 0 && segment.Count == array.Length
            ? array
            : bytes.ToByteArray();

    /// <summary>The fields of a message in order; the caller reads or skips each one before asking for the next.</summary>
    private static IEnumerable<(int Field, WireFormat.WireType Wire)> Fields(CodedInputStream input)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            yield return (WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag));
        }
    }

    /// <summary>One element of a repeated int64 field, or all of them when the writer packed them.</summary>
    private static void ReadInt64s(CodedInputStream input, WireFormat.WireType wire, List<long> into)
    {
        if (wire != WireFormat.WireType.LengthDelimited)
        {
            into.Add(input.ReadInt64());
            return;
        }
        var packed = new CodedInputStream(Owned(input.ReadBytes()));
        while (!packed.IsAtEnd)
        {
            into.Add(packed.ReadInt64());
        }
    }

    private static OnnxTensor ParseTensor(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        var dims = new List<long>();
        // float_data as little-endian IEEE bytes, byte for byte what raw_data holds: one chunk per field occurrence
        // (a packed field is taken over without copying; writers emit one, so it usually becomes raw as it is).
        var floatData = new List<byte[]>();
        int type = 0;
        string name = "";
        byte[]? raw = null;
        foreach (var (field, wire) in Fields(input))
        {
            switch (field)
            {
                case 1: ReadInt64s(input, wire, dims); break;
                case 2: type = input.ReadInt32(); break;
                case 4 when wire == WireFormat.WireType.LengthDelimited:
                    var packed = Owned(input.ReadBytes());
                    floatData.Add(packed.Length % 4 == 0 ? packed : packed[..(packed.Length / 4 * 4)]);
                    break;
                case 4: floatData.Add(BitConverter.GetBytes(input.ReadFloat())); break;
                case 8: name = input.ReadString(); break;
                case 9: raw = Owned(input.ReadBytes()); break;
                default: input.SkipLastField(); break;
            }
        }
        if (raw is null)
        {
            if (type != OnnxTensor.Float)
            {
                throw new InvalidDataException($"Initializer '{name}' of type {type} is not stored as raw_data, which this reader needs.");
            }
            raw = floatData.Count == 1 ? floatData[0] : [.. floatData.SelectMany(chunk => chunk)];
        }
        return new OnnxTensor(name, type, [.. dims], raw);
    }
}
