using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Otchatsa.Bot.Hosting;
using Otchatsa.Bot.State;
using Otchatsa.Catalog;
using Otchatsa.Conversation;
using Otchatsa.Hosting;
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
try
{
    // The chat front ends need the index, the models and the state file: open them first, so a missing or damaged
    // one is one line (the web page alone loads them in the background and reports on /healthz instead).
    if (builder.Configuration.GetValue<bool>("Telegram:Enabled") || builder.Configuration.GetValue<bool>("Discord:Enabled"))
    {
        _ = host.Services.GetRequiredService<OtchatsaRuntime>();
        _ = host.Services.GetRequiredService<StateDatabase>();
    }
    await host.RunAsync();
}
catch (Exception ex)
{
    var (code, message) = BotExitCode.Describe(ex);
    exitCode.Fail(code, message);
}
if (exitCode.Value != 0)
{
    Console.Error.WriteLine($"otchatsa-bot: {exitCode.Reason}");
}
return exitCode.Value;
