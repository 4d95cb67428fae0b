using Microsoft.ML.OnnxRuntime;
using Otchatsa.Catalog;
using Otchatsa.Recommending;
using Otchatsa.Styles;

namespace Otchatsa.Styles;

/// <summary>
/// The trained style head (<c>otchatsa style train</c>) run by ONNX Runtime. It names only the styles it was trained
/// on; the class list comes from the model's own metadata, so the ONNX file alone is enough to serve it. Thread-safe.
/// </summary>
public sealed class OnnxStyleHead : IStyleClassifier, IStyleHeadInfo, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    private OnnxStyleHead(InferenceSession session)
    {
        _session = session;
        var metadata = session.ModelMetadata.CustomMetadataMap;
        if (!metadata.TryGetValue(StyleHeadFormat.ClassesKey, out var classes) || !metadata.TryGetValue(StyleHeadFormat.ViewKey, out var view))
        {
            session.Dispose();
            throw new InvalidDataException("The ONNX model is not an Otchatsa style head (its class list is missing).");
        }
        Classes = classes.Split(',').Select(StyleTaxonomy.Get).ToArray();
        EmbeddingView = view;
        Dimensions = (int)session.InputMetadata[StyleHeadFormat.InputName].Dimensions[^1];
        float Number(string key, float fallback) =>
            metadata.TryGetValue(key, out var text) && float.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
        if (metadata.TryGetValue(StyleHeadFormat.ExamplesKey, out var examples))
        {
            var counts = examples.Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Examples = Classes.Select((c, i) => (c.Id, Count: i < counts.Length ? counts[i] : 0)).ToDictionary(x => x.Id, x => x.Count);
        }
        MixTemperature = Number(StyleHeadFormat.MixTemperatureKey, 1f);
        MixTemperatureSlope = Number(StyleHeadFormat.MixTemperatureSlopeKey, 0f);
        UnsureBelow = Number(StyleHeadFormat.UnsureBelowKey, Recommending.OutfitRecommender.DefaultUnsureBelow);
        ParentSureAbove = Number(StyleHeadFormat.ParentSureKey, 1f);
        _hasOutfitOutput = session.OutputMetadata.ContainsKey(StyleHeadFormat.OutfitOutputName) && metadata.ContainsKey(StyleHeadFormat.OutfitThresholdKey);
        OutfitThreshold = _hasOutfitOutput ? Number(StyleHeadFormat.OutfitThresholdKey, 0f) : null;
    }

    private readonly bool _hasOutfitOutput;

    /// <summary>Main-style training examples per class id (empty for heads written before the count was kept).</summary>
    public IReadOnlyDictionary<string, int> Examples { get; } = new Dictionary<string, int>();

    /// <summary>Temperature for the head mixed with the neighbour vote (see <see cref="NeighbourMixedStyleClassifier"/>).</summary>
    public float MixTemperature { get; }

    /// <summary>How the mixed temperature changes with the closest labelled neighbour's similarity (<see cref="Calibration.TemperatureAt"/>).</summary>
    public float MixTemperatureSlope { get; }

    public float UnsureBelow { get; }

    public float ParentSureAbove { get; }

    /// <summary>Below this <see cref="OutfitSimilarity"/> a photo does not look like an outfit; null when the head has no prototypes.</summary>
    public float? OutfitThreshold { get; }

    /// <summary>The largest cosine similarity of the embedding to the head's training styles (null without prototypes).</summary>
    public float? OutfitSimilarity(float[] embedding)
    {
        if (!_hasOutfitOutput)
        {
            return null;
        }
        var output = new float[1];
        using var inputValue = OrtValue.CreateTensorValueFromMemory((float[])embedding.Clone(), [1, Dimensions]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, [1, 1]);
        _session.Run(_runOptions, [StyleHeadFormat.InputName], [inputValue], [StyleHeadFormat.OutfitOutputName], [outputValue]);
        return output[0];
    }

    public string Name => "head";

    public IReadOnlyList<FashionStyle> Classes { get; }

    /// <summary>The embedding view the head was trained on.</summary>
    public string EmbeddingView { get; }

    public int Dimensions { get; }

    public static OnnxStyleHead Load(string path) => new(NewSession(path, null));

    public static OnnxStyleHead Load(byte[] model) => new(NewSession(null, model));

    /// <summary>Probabilities for a batch of embeddings, one row per embedding, columns in <see cref="Classes"/> order.</summary>
    public float[][] Probabilities(IReadOnlyList<float[]> embeddings)
    {
        if (embeddings.Count == 0)
        {
            return [];
        }
        var input = new float[embeddings.Count * Dimensions];
        for (var i = 0; i < embeddings.Count; i++)
        {
            if (embeddings[i].Length != Dimensions)
            {
                throw new ArgumentException($"The head expects {Dimensions}-d embeddings ({EmbeddingView}), got {embeddings[i].Length}.");
            }
            embeddings[i].CopyTo(input, i * Dimensions);
        }
        var output = new float[embeddings.Count * Classes.Count];
        using var inputValue = OrtValue.CreateTensorValueFromMemory(input, [embeddings.Count, Dimensions]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(output, [embeddings.Count, Classes.Count]);
        _session.Run(_runOptions, [StyleHeadFormat.InputName], [inputValue], [StyleHeadFormat.OutputName], [outputValue]);
        return Enumerable.Range(0, embeddings.Count).Select(i => output.AsSpan(i * Classes.Count, Classes.Count).ToArray()).ToArray();
    }

    public IReadOnlyList<StyleScore> Classify(float[] embedding, IReadOnlyList<Neighbor> neighbors) =>
        Rank(Probabilities([embedding])[0]);

    /// <summary>Turns a probability row into scores sorted best first.</summary>
    public IReadOnlyList<StyleScore> Rank(float[] probabilities) =>
        Classes.Select((style, i) => new StyleScore(style, probabilities[i])).OrderByDescending(s => s.Score).ToArray();

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static InferenceSession NewSession(string? path, byte[]? model)
    {
        // A tiny graph: one thread avoids spinning up a pool per session, which matters when eval builds one per fold.
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return path is not null ? new InferenceSession(path, options) : new InferenceSession(model!, options);
    }
}
