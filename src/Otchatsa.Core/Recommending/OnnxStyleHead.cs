using Microsoft.ML.OnnxRuntime;
using Otchatsa.Styles;
using Otchatsa.Training;

namespace Otchatsa.Recommending;

/// <summary>
/// The trained style head (<c>otchatsa style train</c>) run by ONNX Runtime. It names only the styles it was trained
/// on; the class list comes from the model's own metadata, so the ONNX file alone is enough to serve it. Thread-safe.
/// </summary>
public sealed class OnnxStyleHead : IStyleClassifier, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    private OnnxStyleHead(InferenceSession session)
    {
        _session = session;
        var metadata = session.ModelMetadata.CustomMetadataMap;
        if (!metadata.TryGetValue(StyleHeadOnnx.ClassesKey, out var classes) || !metadata.TryGetValue(StyleHeadOnnx.ViewKey, out var view))
        {
            session.Dispose();
            throw new InvalidDataException("The ONNX model is not an Otchatsa style head (its class list is missing).");
        }
        Classes = classes.Split(',').Select(StyleTaxonomy.Get).ToArray();
        EmbeddingView = view;
        Dimensions = (int)session.InputMetadata[StyleHeadOnnx.InputName].Dimensions[^1];
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
        _session.Run(_runOptions, [StyleHeadOnnx.InputName], [inputValue], [StyleHeadOnnx.OutputName], [outputValue]);
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
