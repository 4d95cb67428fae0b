namespace Otchatsa.Bot.Hosting;

/// <summary>The worker's process exit code, set by a front end that had to stop the host (e.g. a rejected token).</summary>
public sealed class BotExitCode
{
    public int Value { get; set; }
}
