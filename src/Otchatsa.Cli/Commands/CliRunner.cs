using Otchatsa.Catalog;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Otchatsa.Cli.Commands;

/// <summary>Runs the command app and turns expected failures into one clear line and a non-zero exit code.</summary>
internal static class CliRunner
{
    public static async Task<int> RunAsync(CommandApp app, string[] args)
    {
        try
        {
            return await app.RunAsync(args);
        }
        catch (Exception ex) when (ex is CommandParseException or CommandRuntimeException)
        {
            Console.Error.WriteLine($"otchatsa: {ex.Message}");
            return 64;
        }
        catch (Exception ex) when (ex is CliException or IndexIncompatibleException or FileNotFoundException
                                       or DirectoryNotFoundException or CatalogManifestException or Pipeline.UnknownEmbedderException
                                       or Microsoft.Extensions.Options.OptionsValidationException)
        {
            Console.Error.WriteLine($"otchatsa: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("otchatsa: cancelled.");
            return 130;
        }
    }

    /// <summary>Console for humans: stderr, so stdout stays clean for JSON lines.</summary>
    public static IAnsiConsole Human { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });
}

/// <summary>A user error with a message fit to print as is.</summary>
internal sealed class CliException(string message) : Exception(message);
