using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOtchatsaBot(builder.Configuration);
using var host = builder.Build();
try
{
    await host.RunAsync();
}
catch (OptionsValidationException ex)
{
    Console.Error.WriteLine($"otchatsa-bot: invalid configuration: {string.Join(" ", ex.Failures)}");
    return 2;
}
return host.Services.GetRequiredService<BotExitCode>().Value;
