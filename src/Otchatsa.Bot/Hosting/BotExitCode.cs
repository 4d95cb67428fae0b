using Microsoft.Extensions.Options;
using Otchatsa.Catalog;

namespace Otchatsa.Bot.Hosting;

/// <summary>The worker's process exit code, set by a front end that had to stop the host (e.g. a rejected token).</summary>
public sealed class BotExitCode
{
    /// <summary>Stopped normally (Ctrl+C, SIGTERM).</summary>
    public const int Ok = 0;

    /// <summary>Could not start: missing models, an unreadable state file or index folder.</summary>
    public const int StartFailed = 1;

    /// <summary>Invalid settings (all problems in one line).</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>Telegram or Discord rejected the token (or Discord a disallowed intent): fix the configuration.</summary>
    public const int TokenRejected = 3;

    /// <summary>The index cannot be used: missing, damaged, empty, or built with other models. Rebuild it.</summary>
    public const int IndexUnusable = 4;

    /// <summary>Telegram or Discord answered a start-up call unexpectedly (e.g. 404): check ApiBaseUrl and proxies.</summary>
    public const int UnexpectedAnswer = 5;

    /// <summary>An unexpected error (a bug): one line, no stack trace; please report it.</summary>
    public const int Internal = 70;

    public int Value { get; set; }

    /// <summary>One line for stderr saying why the worker stopped with a non-zero <see cref="Value"/>.</summary>
    public string? Reason { get; set; }

    /// <summary>Records the first fatal stop (later ones, e.g. from another front end, keep the first reason).</summary>
    public void Fail(int code, string reason)
    {
        if (Value == 0)
        {
            Value = code;
            Reason = reason;
        }
    }

    /// <summary>The exit code and one line for an exception that stopped the worker's start.</summary>
    public static (int Code, string Message) Describe(Exception ex) => ex switch
    {
        IndexIncompatibleException => (IndexUnusable, OneLine(ex.Message)),
        OptionsValidationException o => (InvalidConfiguration, "invalid configuration: " + string.Join(" ", o.Failures)),
        FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException
            or InvalidDataException or Microsoft.Data.Sqlite.SqliteException
            => (StartFailed, "could not start: " + OneLine(ex.Message)),
        ChatServiceStartException => (UnexpectedAnswer, OneLine(ex.Message)),
        _ => (Internal, $"unexpected error ({ex.GetType().Name}: {OneLine(ex.Message)}). This is a bug: please report it."),
    };

    public static string OneLine(string message) =>
        string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>Telegram or Discord answered a start-up call in a way that retrying will not fix (e.g. HTTP 404).</summary>
public sealed class ChatServiceStartException(string message, Exception? inner = null) : Exception(message, inner);
