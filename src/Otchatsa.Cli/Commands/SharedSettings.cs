using Otchatsa.Pipeline;
using Otchatsa.Vision;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>
/// What the commands' settings share: the help of the options several commands have, the checks of required options,
/// and the parsing of values that several commands take. The options themselves stay declared on each command's
/// settings: Spectre.Console.Cli lists inherited options before a command's own, and the order `--help` shows is part of
/// the CLI.
/// </summary>
internal static class SharedSettings
{
    public const string IndexHelp = "Index folder built by 'otchatsa index build'.";

    public const string ModelsHelp = "Folder with the project's models (default: beside the program).";

    public const string CacheHelp = "Embedding cache folder (default: $OTCHATSA_CACHE or ~/.cache/otchatsa/embeddings).";

    public const string EmbedderModelHelp =
        "Embedding network: 'imagenet' (the package's ResNet18, the default), 'fashion' (our fashion embedder, models/fashion_embedder.*; fp32), " +
        "or an ONNX file with the same input and output (from tools/embedder-train; runs in fp32).";

    public const string BackgroundEveryHelp = "Make other-background queries of every N-th photo only (default 1 = all).";

    public const string FoldsAtLeastTwo = "--folds needs at least 2.";

    /// <summary>
    /// Success when every option of the group is given; otherwise one error naming the whole group:
    /// "--a is required." or "--a and --b are required.".
    /// </summary>
    public static ValidationResult Required(params (string Option, bool Given)[] group) =>
        group.All(o => o.Given)
            ? ValidationResult.Success()
            : ValidationResult.Error(string.Join(" and ", group.Select(o => o.Option)) + (group.Length == 1 ? " is required." : " are required."));

    /// <inheritdoc cref="Required(ValueTuple{string, bool}[])"/>
    public static ValidationResult Required(params (string Option, string? Value)[] group) =>
        Required(group.Select(o => (o.Option, Given(o.Value))).ToArray());

    public static bool Given(string? value) => !string.IsNullOrWhiteSpace(value);

    /// <summary>A repeatable option: given at least once, and never empty.</summary>
    public static bool Given(string[] values) => values.Length > 0 && !values.Any(string.IsNullOrWhiteSpace);

    /// <summary>The first error wins: <paramref name="result"/> if it failed, else <paramref name="message"/> when <paramref name="wrong"/>.</summary>
    public static ValidationResult ErrorIf(this ValidationResult result, bool wrong, string message) =>
        result.Successful && wrong ? ValidationResult.Error(message) : result;

    /// <summary>An <c>--embedder</c> value (null when not given); an unknown one is the usual one-line CLI error.</summary>
    public static EmbedderPrecision? ParseEmbedder(string? value)
    {
        if (value is null)
        {
            return null;
        }
        try
        {
            return ModelPaths.ParseEmbedder(value);
        }
        catch (UnknownEmbedderException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>A catalog manifest that must exist before any model is loaded.</summary>
    public static void RequireCatalog(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"Catalog manifest '{path}' does not exist.");
        }
    }
}
