using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Otchatsa.Bot.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOtchatsaBot(builder.Configuration);
using var host = builder.Build();
if (BotConfiguration.Problems(host.Services) is { Count: > 0 } problems)
{
    Console.Error.WriteLine($"otchatsa-bot: invalid configuration: {string.Join(" ", problems)}");
    return 2;
}
await host.RunAsync();
return host.Services.GetRequiredService<BotExitCode>().Value;
