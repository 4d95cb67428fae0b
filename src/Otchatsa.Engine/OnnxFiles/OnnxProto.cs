using Google.Protobuf;

namespace Otchatsa.OnnxFiles;

/// <summary>
/// A minimal protobuf message builder for the handful of ONNX messages the project writes (the style head here, and
/// the segmenter importer in tools/, which compiles this same file)
/// (field numbers from onnx/onnx.proto). Hand-writing them avoids generating C# from onnx.proto for ~10 messages;
/// fields are written in a fixed order, so equal graphs give equal bytes.
/// </summary>
public sealed class ProtoMessage
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _out;

    public ProtoMessage() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoMessage Int64(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    public ProtoMessage String(int field, string value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteString(value);
        return this;
    }

    public ProtoMessage Bytes(int field, byte[] value) => Bytes(field, new ReadOnlyMemory<byte>(value));

    /// <summary>A nested message, written from its buffer without copying it first.</summary>
    public ProtoMessage Message(int field, ProtoMessage value)
    {
        ArgumentNullException.ThrowIfNull(value);
        value._out.Flush();
        return Bytes(field, new ReadOnlyMemory<byte>(value._buffer.GetBuffer(), 0, (int)value._buffer.Length));
    }

    private ProtoMessage Bytes(int field, ReadOnlyMemory<byte> value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        // Wrapped, not copied: the bytes are written into this message's buffer at once and not kept.
        _out.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        return this;
    }

    public ProtoMessage PackedInt64(int field, IReadOnlyList<long> values)
    {
        var inner = new ProtoMessage();
        foreach (var v in values)
        {
            inner._out.WriteInt64(v);
        }
        return Bytes(field, inner.ToArray());
    }

    public byte[] ToArray()
    {
        _out.Flush();
        return _buffer.ToArray();
    }
}

/// <summary>ONNX message shapes used by the importer, as functions producing <see cref="ProtoMessage"/>s.</summary>
public static class Onnx
{
    public const int Float = 1;
    public const int Int64 = 7;

    // AttributeProto.AttributeType values.
    private const int AttrFloat = 1;
    private const int AttrInt = 2;
    private const int AttrString = 3;
    private const int AttrIntList = 7;

    public static ProtoMessage AttrI(string name, long value) =>
        new ProtoMessage().String(1, name).Int64(3, value).Int64(20, AttrInt);

    public static ProtoMessage AttrF(string name, float value) =>
        new ProtoMessage().String(1, name).Float(2, value).Int64(20, AttrFloat);

    public static ProtoMessage AttrS(string name, string value) =>
        new ProtoMessage().String(1, name).Bytes(4, System.Text.Encoding.UTF8.GetBytes(value)).Int64(20, AttrString);

    public static ProtoMessage AttrInts(string name, params long[] values) =>
        new ProtoMessage().String(1, name).PackedInt64(8, values).Int64(20, AttrIntList);

    public static ProtoMessage Node(string name, string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        params ProtoMessage[] attributes) =>
        Node(name, opType, inputs, outputs, attributes.Select(a => a.ToArray()), domain: "");

    /// <summary>A NodeProto from attributes already encoded (AttributeProto bytes); the domain is written when not empty.</summary>
    public static ProtoMessage Node(string name, string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IEnumerable<byte[]> attributes, string domain)
    {
        var node = new ProtoMessage();
        foreach (var i in inputs)
        {
            node.String(1, i);
        }
        foreach (var o in outputs)
        {
            node.String(2, o);
        }
        node.String(3, name).String(4, opType);
        foreach (var a in attributes)
        {
            node.Bytes(5, a);
        }
        if (domain.Length > 0)
        {
            node.String(7, domain);
        }
        return node;
    }

    public static ProtoMessage FloatTensor(string name, IReadOnlyList<long> dims, float[] values) =>
        Tensor(name, Float, dims, RawData(values));

    public static ProtoMessage Int64Tensor(string name, IReadOnlyList<long> dims, long[] values) =>
        Tensor(name, Int64, dims, RawData(values));

    /// <summary>A TensorProto whose values are already in <c>raw_data</c> form.</summary>
    public static ProtoMessage Tensor(string name, int dataType, IReadOnlyList<long> dims, byte[] raw) =>
        new ProtoMessage().PackedInt64(1, dims).Int64(2, dataType).String(8, name).Bytes(9, raw);

    /// <summary>Values as TensorProto <c>raw_data</c> bytes.</summary>
    public static byte[] RawData<T>(T[] values) where T : unmanaged
    {
        // raw_data is little-endian by spec; the memory order matches on every platform .NET runs this tool on.
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    /// <summary>An OperatorSetIdProto.</summary>
    public static ProtoMessage OpsetId(string domain, long version) => new ProtoMessage().String(1, domain).Int64(2, version);

    /// <summary>A tensor value description; a negative dimension is written as the symbolic dimension <c>N</c> (any batch size).</summary>
    public static ProtoMessage ValueInfo(string name, int elemType, IReadOnlyList<long> dims)
    {
        var shape = new ProtoMessage();
        foreach (var d in dims)
        {
            shape.Message(1, d < 0 ? new ProtoMessage().String(2, "N") : new ProtoMessage().Int64(1, d));
        }
        var tensorType = new ProtoMessage().Int64(1, elemType).Message(2, shape);
        return new ProtoMessage().String(1, name).Message(2, new ProtoMessage().Message(1, tensorType));
    }

    public static byte[] Model(ProtoMessage graph, int opset, string producer, string producerVersion, string docString,
        IReadOnlyList<KeyValuePair<string, string>> metadata)
    {
        var model = new ProtoMessage()
            .Int64(1, 8) // IR version 8: understood by every ONNX Runtime since 1.10, enough for opset 13.
            .String(2, producer)
            .String(3, producerVersion)
            .String(6, docString)
            .Message(7, graph)
            .Message(8, OpsetId("", opset));
        foreach (var (key, value) in metadata)
        {
            model.Message(14, new ProtoMessage().String(1, key).String(2, value));
        }
        return model.ToArray();
    }
}
