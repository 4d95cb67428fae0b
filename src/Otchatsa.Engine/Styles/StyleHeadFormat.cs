namespace Otchatsa.Styles;

/// <summary>
/// The style head's ONNX file format, shared by the trainer that writes it (Otchatsa.Training.StyleHeadOnnx) and the
/// engine that serves it (<see cref="OnnxStyleHead"/>): tensor names and the metadata keys.
/// </summary>
public static class StyleHeadFormat
{
    public const string InputName = "embedding";
    public const string OutputName = "probabilities";

    /// <summary>Metadata key holding the class ids, comma-separated, in output order.</summary>
    public const string ClassesKey = "otchatsa.classes";

    /// <summary>Metadata key holding the embedding view the head was trained on.</summary>
    public const string ViewKey = "otchatsa.embedding_view";

    /// <summary>Optional output: the largest cosine similarity of the embedding to the training styles' mean embeddings, [N, 1].</summary>
    public const string OutfitOutputName = "outfit_similarity";

    /// <summary>Metadata key: training examples per class (main style), comma-separated, in class order.</summary>
    public const string ExamplesKey = "otchatsa.examples";

    /// <summary>Metadata key: temperature applied to the head mixed with the neighbour vote (fitted on CV folds).</summary>
    public const string MixTemperatureKey = "otchatsa.mix_temperature";

    /// <summary>Metadata key: slope of the mixed temperature in the closest labelled neighbour's similarity.</summary>
    public const string MixTemperatureSlopeKey = "otchatsa.mix_temperature_slope";

    /// <summary>Metadata keys: below this top-style probability the answer is "not sure"; at or above this a parent is certain.</summary>
    public const string UnsureBelowKey = "otchatsa.unsure_below";
    public const string ParentSureKey = "otchatsa.parent_sure_above";

    /// <summary>Metadata key: below this <see cref="OutfitOutputName"/> a photo does not look like an outfit.</summary>
    public const string OutfitThresholdKey = "otchatsa.outfit_threshold";
}
