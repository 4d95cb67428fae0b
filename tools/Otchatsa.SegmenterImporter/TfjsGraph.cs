using System.Text;
using System.Text.Json;

namespace Otchatsa.SegmenterImporter;

/// <summary>One node of a TF.js graph model (a TensorFlow GraphDef node serialised as JSON).</summary>
internal sealed record TfNode(string Name, string Op, IReadOnlyList<string> Inputs, JsonElement Attrs)
{
    public bool Has(string attr) => Attrs.ValueKind == JsonValueKind.Object && Attrs.TryGetProperty(attr, out _);

    /// <summary>GraphDef string attributes are bytes, which the JSON form carries as base64 ("U0FNRQ==" = "SAME").</summary>
    public string Str(string attr) =>
        Encoding.UTF8.GetString(Convert.FromBase64String(Attrs.GetProperty(attr).GetProperty("s").GetString()!));

    public bool Bool(string attr) => Has(attr) && Attrs.GetProperty(attr).TryGetProperty("b", out var b) && b.GetBoolean();

    /// <summary>int64 list attributes are JSON strings ("1", "2", ...), as protobuf's JSON mapping writes int64.</summary>
    public int[] Ints(string attr)
    {
        if (!Has(attr) || !Attrs.GetProperty(attr).GetProperty("list").TryGetProperty("i", out var list))
        {
            return [];
        }
        return list.EnumerateArray().Select(e => int.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }
}

/// <summary>A constant tensor from the weights file, already dequantized.</summary>
internal sealed record TfConst(int[] Shape, float[]? Floats, int[]? Ints);

/// <summary>A TF.js graph model: topology plus dequantized weights.</summary>
internal sealed class TfjsGraph
{
    public required IReadOnlyList<TfNode> Nodes { get; init; }
    public required IReadOnlyDictionary<string, TfConst> Consts { get; init; }
    public required string InputName { get; init; }
    public required int[] InputShape { get; init; }
    public required string OutputName { get; init; }

    public static TfjsGraph Parse(byte[] modelJson, byte[] weights)
    {
        using var doc = JsonDocument.Parse(modelJson);
        var root = doc.RootElement;
        if (root.GetProperty("format").GetString() != "graph-model")
        {
            throw new InvalidDataException("Expected a TF.js graph-model.");
        }

        var nodes = new List<TfNode>();
        foreach (var n in root.GetProperty("modelTopology").GetProperty("node").EnumerateArray())
        {
            var inputs = n.TryGetProperty("input", out var ins)
                ? ins.EnumerateArray().Select(i => i.GetString()!).ToList()
                : [];
            var attrs = n.TryGetProperty("attr", out var a) ? a.Clone() : default;
            nodes.Add(new TfNode(n.GetProperty("name").GetString()!, n.GetProperty("op").GetString()!, inputs, attrs));
        }

        var signature = root.GetProperty("signature");
        var input = signature.GetProperty("inputs").EnumerateObject().Single().Value;
        var output = signature.GetProperty("outputs").EnumerateObject().Single().Value;
        var inputShape = input.GetProperty("tensorShape").GetProperty("dim").EnumerateArray()
            .Select(d => int.Parse(d.GetProperty("size").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        return new TfjsGraph
        {
            Nodes = nodes,
            Consts = ReadWeights(root.GetProperty("weightsManifest"), weights),
            InputName = StripPort(input.GetProperty("name").GetString()!),
            InputShape = inputShape,
            OutputName = StripPort(output.GetProperty("name").GetString()!),
        };
    }

    /// <summary>"name:0" and "name" refer to the same tensor; every op used here has one output.</summary>
    public static string StripPort(string tensor)
    {
        var colon = tensor.LastIndexOf(':');
        if (colon < 0)
        {
            return tensor;
        }
        if (tensor[(colon + 1)..] != "0")
        {
            throw new NotSupportedException($"Multi-output tensor reference '{tensor}' is not supported.");
        }
        return tensor[..colon];
    }

    private static Dictionary<string, TfConst> ReadWeights(JsonElement manifest, byte[] data)
    {
        // Weights of all groups are concatenated in manifest order (the importer reads one .bin, which holds them all here).
        var consts = new Dictionary<string, TfConst>(StringComparer.Ordinal);
        var offset = 0;
        foreach (var group in manifest.EnumerateArray())
        {
            foreach (var w in group.GetProperty("weights").EnumerateArray())
            {
                var name = w.GetProperty("name").GetString()!;
                var shape = w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var count = shape.Aggregate(1, (a, b) => a * b);
                var dtype = w.GetProperty("dtype").GetString();
                var storedAs = w.TryGetProperty("quantization", out var q) ? q.GetProperty("dtype").GetString() : dtype;

                switch (dtype, storedAs)
                {
                    case ("float32", "float32"):
                        consts[name] = new TfConst(shape, ReadArray<float>(data, offset, count), null);
                        offset += count * 4;
                        break;
                    case ("float32", "float16"):
                        var halves = ReadArray<Half>(data, offset, count);
                        consts[name] = new TfConst(shape, halves.Select(h => (float)h).ToArray(), null);
                        offset += count * 2;
                        break;
                    case ("int32", "int32"):
                        consts[name] = new TfConst(shape, null, ReadArray<int>(data, offset, count));
                        offset += count * 4;
                        break;
                    default:
                        throw new NotSupportedException($"Weight '{name}': dtype {dtype} stored as {storedAs} is not supported.");
                }
            }
        }
        if (offset != data.Length)
        {
            throw new InvalidDataException($"Weights manifest covers {offset} bytes but the weights file has {data.Length}.");
        }
        return consts;
    }

    private static T[] ReadArray<T>(byte[] data, int offset, int count) where T : unmanaged
    {
        var size = System.Runtime.InteropServices.Marshal.SizeOf<T>();
        if (offset + count * size > data.Length)
        {
            throw new InvalidDataException("Weights file is shorter than its manifest.");
        }
        // TF.js writes weights little-endian, the only byte order .NET runs on in practice.
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(data.AsSpan(offset, count * size)).ToArray();
    }
}
