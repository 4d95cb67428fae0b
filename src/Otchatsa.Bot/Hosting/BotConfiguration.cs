using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Otchatsa.Discord;
using Otchatsa.Hosting;

namespace Otchatsa.Bot.Hosting;

/// <summary>Validates every options section up front, so a bad configuration is reported in one line, all at once.</summary>
public static class BotConfiguration
{
    public static IReadOnlyList<string> Problems(IServiceProvider services)
    {
        var problems = new List<string>();
        Check<EngineOptions>(services, problems);
        Check<OtchatsaOptions>(services, problems);
        Check<TelegramOptions>(services, problems);
        if (services.GetService<IConfigureOptions<DiscordClientOptions>>() is not null)
        {
            Check<DiscordClientOptions>(services, problems);
        }
        return problems;
    }

    private static void Check<T>(IServiceProvider services, List<string> problems)
        where T : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            problems.AddRange(ex.Failures);
        }
    }
}
