using Otchatsa.OnnxFiles;

namespace Otchatsa.Tests.OnnxFiles;

/// <summary>Initializers stored as float_data (TensorProto field 4) rather than raw_data read back as the same floats.</summary>
public sealed class OnnxModelReaderTests
{
    private static byte[] FloatBytes(params float[] values) =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static ProtoMessage Tensor(string name, long length, Action<ProtoMessage> floatData)
    {
        var tensor = new ProtoMessage().Int64(1, length).Int64(2, OnnxTensor.Float);
        floatData(tensor);
        return tensor.String(8, name);
    }

    [Fact]
    public void Float_data_packed_unpacked_or_both_is_read_in_order()
    {
        var graph = new ProtoMessage()
            .Message(5, Tensor("packed", 3, t => t.Bytes(4, FloatBytes(1f, 2f, 3f))))
            .Message(5, Tensor("unpacked", 2, t => t.Float(4, 0.5f).Float(4, -4f)))
            .Message(5, Tensor("mixed", 4, t => t.Float(4, 9f).Bytes(4, FloatBytes(8f, 7f)).Float(4, 6f)));
        var model = new ProtoMessage().Int64(1, 8).Message(7, graph).ToArray();

        var read = OnnxModel.Parse(model).Initializers;

        Assert.Equal([1f, 2f, 3f], read["packed"].Floats());
        Assert.Equal([0.5f, -4f], read["unpacked"].Floats());
        Assert.Equal([9f, 8f, 7f, 6f], read["mixed"].Floats());
        Assert.Equal([4L], read["mixed"].Dims);
    }
}
