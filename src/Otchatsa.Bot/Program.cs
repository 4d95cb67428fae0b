using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Otchatsa.Bot.Hosting;
using Otchatsa.Web;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Services.AddOtchatsaBot(builder.Configuration);
builder.Services.AddOtchatsaWebFrontEnd(builder.Configuration);
using var host = builder.Build();
if (BotConfiguration.Problems(host.Services) is { Count: > 0 } problems)
{
    Console.Error.WriteLine($"otchatsa-bot: invalid configuration: {string.Join(" ", problems)}");
    return 2;
}
// RunAsync disposes the host's services, so take the exit code holder first.
var exitCode = host.Services.GetRequiredService<BotExitCode>();
await host.RunAsync();
return exitCode.Value;
