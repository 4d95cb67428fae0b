using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Spectre.Console.Cli;
using Spectre.Console;

namespace Otchatsa.Cli.Commands;

/// <summary>The CLI's exit codes (README "Exit codes").</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A missing or unreadable input (catalog, photo list, models), a bad setting, no data for the demo.</summary>
    public const int BadInput = 1;

    /// <summary><c>recommend</c> / <c>demo</c>: at least one photo could not be analysed (its JSON line says why).</summary>
    public const int PhotoFailed = 2;

    /// <summary><c>index build</c>: too few photos could be indexed; the old index is unchanged.</summary>
    public const int BuildRefused = 3;

    /// <summary>The index cannot be used: missing, damaged, empty, or built with other models. Rebuild it.</summary>
    public const int IndexUnusable = 4;

    /// <summary>The command line itself is wrong (unknown verb or option, missing value).</summary>
    public const int Usage = 64;

    /// <summary>An unexpected error (a bug): one line, no stack trace; please report it.</summary>
    public const int Internal = 70;

    public const int Cancelled = 130;
}

/// <summary>Runs the command app and turns every failure into one clear line on stderr and a documented exit code.</summary>
internal static class CliRunner
{
    public static async Task<int> RunAsync(CommandApp app, string[] args)
    {
        try
        {
            return await app.RunAsync(args);
        }
        catch (Exception ex)
        {
            var (code, message) = Describe(ex);
            Console.Error.WriteLine($"otchatsa: {message}");
            return code;
        }
    }

    /// <summary>The exit code and the one line for a failure.</summary>
    internal static (int Code, string Message) Describe(Exception ex) => ex switch
    {
        CommandParseException or CommandRuntimeException => (ExitCodes.Usage, OneLine(ex.Message) + " (see 'otchatsa --help')"),
        IndexIncompatibleException => (ExitCodes.IndexUnusable, OneLine(ex.Message)),
        IndexBuildRefusedException => (ExitCodes.BuildRefused, OneLine(ex.Message)),
        OperationCanceledException => (ExitCodes.Cancelled, "cancelled."),
        CliException or CatalogManifestException or Pipeline.UnknownEmbedderException or Microsoft.Extensions.Options.OptionsValidationException
            => (ExitCodes.BadInput, OneLine(ex.Message)),
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
            => (ExitCodes.BadInput, OneLine(ex.Message)),
        IOException or InvalidDataException => (ExitCodes.BadInput, OneLine(ex.Message)),
        // Options parsed by the engine (e.g. an unknown --view) say what is accepted.
        ArgumentException => (ExitCodes.BadInput, OneLine(ex.Message)),
        Microsoft.ML.OnnxRuntime.OnnxRuntimeException => (ExitCodes.BadInput,
            $"a model could not be loaded ({OneLine(ex.Message)}); rebuild otchatsa or point --models at the models folder."),
        _ => (ExitCodes.Internal,
            $"unexpected error ({ex.GetType().Name}: {OneLine(ex.Message)}). This is a bug: please report it with the command you ran."),
    };

    /// <summary>A message flattened to one line.</summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>The first line of a (possibly multi-line) message, for one-line errors.</summary>
    public static string FirstLine(string message)
    {
        var line = message.AsSpan().Trim();
        int end = line.IndexOfAny('\r', '\n');
        return (end < 0 ? line : line[..end]).TrimEnd().ToString();
    }

    /// <summary>Console for humans: stderr, so stdout stays clean for JSON lines.</summary>
    public static IAnsiConsole Human { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });
}

/// <summary>A user error with a message fit to print as is.</summary>
internal sealed class CliException(string message) : Exception(message);
