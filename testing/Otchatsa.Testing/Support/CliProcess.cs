using System.Diagnostics;

namespace Otchatsa.Tests.Support;

/// <summary>Runs the real <c>otchatsa</c> CLI in a child process, as scripts outside the project do.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr, long PeakWorkingSetBytes)
    {
        public string[] Lines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static Task<Result> RunAsync(TimeSpan timeout, params string[] args) =>
        RunAsync(timeout, new Dictionary<string, string?>(), args);

    /// <summary>Runs with <paramref name="environment"/> added to (or, for null values, removed from) the inherited one.</summary>
    public static Task<Result> RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        RunProgramAsync("otchatsa.dll", timeout, environment, args);

    /// <summary>Runs another program of the solution that the tests reference (e.g. <c>Otchatsa.Bot.dll</c>, the worker).</summary>
    public static async Task<Result> RunProgramAsync(string dll, TimeSpan timeout, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        using var cts = new CancellationTokenSource(timeout);
        // The peak (VmHWM) can only be read while the process lives, so sample it until it exits.
        while (!process.HasExited)
        {
            try
            {
                process.Refresh();
                peak = Math.Max(peak, process.PeakWorkingSet64);
            }
            catch (InvalidOperationException)
            {
                break;
            }
            try
            {
                await process.WaitForExitAsync(CancellationTokenSource.CreateLinkedTokenSource(cts.Token, new CancellationTokenSource(50).Token).Token);
            }
            catch (OperationCanceledException) when (!cts.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{dll} {string.Join(' ', args)} did not finish within {timeout}.");
            }
        }
        await process.WaitForExitAsync();
        return new Result(process.ExitCode, await stdout, await stderr, peak);
    }
}
