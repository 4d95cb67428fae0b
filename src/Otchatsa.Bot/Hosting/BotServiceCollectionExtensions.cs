using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Otchatsa.Bot.Discord;
using Otchatsa.Bot.Jobs;
using Otchatsa.Bot.State;
using Otchatsa.Bot.Telegram;
using Otchatsa.Catalog;
using Otchatsa.Conversation;
using Otchatsa.Discord.Attachments;
using Otchatsa.Discord.Gateway.WebSockets;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest.RateLimits;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord;
using Otchatsa.Hosting;
using Otchatsa.Imaging;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using Telegram.Bot;

namespace Otchatsa.Bot.Hosting;

public static class BotServiceCollectionExtensions
{
    /// <summary>
    /// The engine, the conversation core, the shared queue and every enabled front end. An
    /// <see cref="OtchatsaRuntime"/> or <see cref="TimeProvider"/> registered before this call is used as is.
    /// </summary>
    public static IServiceCollection AddOtchatsaBot(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OtchatsaOptions>().BindConfiguration(OtchatsaOptions.Section).ValidateOnStart();
        services.AddOptions<TelegramOptions>().BindConfiguration(TelegramOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OtchatsaOptions>, OtchatsaOptionsValidator>();
        services.AddSingleton<IValidateOptions<TelegramOptions>, TelegramOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BotExitCode>();
        services.AddOtchatsaEngine();
        services.TryAddSingleton(sp => StateDatabase.Open(
            sp.GetRequiredService<IOptions<OtchatsaOptions>>().Value.StatePath, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<JobOutbox>();
        services.TryAddSingleton<ChatPreferenceStore>();
        services.TryAddSingleton<GatewaySessionStore>();
        services.TryAddSingleton(sp => new OtchatsaConversation(
            sp.GetRequiredService<OtchatsaRuntime>(),
            sp.GetRequiredService<ChatPreferenceStore>(),
            Strategies.Create(sp.GetRequiredService<IOptions<OtchatsaOptions>>().Value.Strategy)));
        services.TryAddSingleton(sp =>
        {
            var rl = sp.GetRequiredService<IOptions<OtchatsaOptions>>().Value.RateLimit;
            return new ChatRateLimiter(
                new RateLimitOptions { UserBurst = rl.UserBurst, UserRefill = rl.UserRefill, ChatBurst = rl.ChatBurst, ChatRefill = rl.ChatRefill },
                sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton(sp =>
        {
            var q = sp.GetRequiredService<IOptions<OtchatsaOptions>>().Value.Queue;
            return new ChatJobQueue(
                sp.GetRequiredService<JobOutbox>(),
                sp.GetServices<IChatJobHandler>(),
                new ChatQueueOptions { Capacity = q.Capacity, Workers = q.Workers },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ChatJobQueue>>());
        });
        // Registered first so it stops last: front ends stop taking updates, then the queue drains.
        services.AddHostedService<ChatQueueService>();

        if (configuration.GetValue<bool>($"{TelegramOptions.Section}:Enabled"))
        {
            services.AddOtchatsaTelegram();
        }
        if (configuration.GetValue<bool>($"{DiscordSection}:Enabled"))
        {
            services.AddOtchatsaDiscord();
        }
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        services.TryAddSingleton<WorkerHealthProbe>();
        if (configuration.GetValue<bool>($"{MetricsOptions.Section}:Enabled"))
        {
            services.AddSingleton<OperationsEndpointService>();
            services.AddHostedService(sp => sp.GetRequiredService<OperationsEndpointService>());
        }
        return services;
    }

    /// <summary>The Discord section, bound straight onto the client library's <see cref="DiscordClientOptions"/>.</summary>
    public const string DiscordSection = "Discord";

    private static IServiceCollection AddOtchatsaDiscord(this IServiceCollection services)
    {
        services.AddOptions<DiscordClientOptions>().BindConfiguration(DiscordSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DiscordClientOptions>, DiscordOptionsValidator>();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<DiscordClientOptions>>().Value);
        services.TryAddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            // A plain HttpClient on purpose (as for Telegram): IHttpClientFactory's logging would write interaction
            // webhook URLs, which carry interaction tokens.
            // No HttpClient timeout: each attempt is timed by the REST client's pipeline (Discord:RequestTimeout).
            var api = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            return new DiscordRestClient(sp.GetRequiredService<DiscordClientOptions>(), new HttpClientRestRequestHandler(api),
                new RateLimitManager(time), time, sp.GetRequiredService<ILogger<DiscordRestClient>>());
        });
        services.TryAddSingleton(sp => new AttachmentDownloader(
            new HttpClient(AttachmentDownloader.CreateDefaultHandler()) { Timeout = TimeSpan.FromSeconds(30) },
            sp.GetRequiredService<DiscordClientOptions>(),
            ImageFormatSniffer.ChatPhotoMediaType,
            sp.GetRequiredService<ILogger<AttachmentDownloader>>()));
        services.AddSingleton<DiscordLiveInteractions>();
        services.AddSingleton<DiscordJobHandler>();
        services.AddSingleton<IChatJobHandler>(sp => sp.GetRequiredService<DiscordJobHandler>());
        services.TryAddSingleton<DiscordIntakeHook>();
        services.AddSingleton<DiscordChatHandler>();
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<DiscordClientOptions>();
            var handler = sp.GetRequiredService<DiscordChatHandler>();
            var commands = OtchatsaCommands.Build(StyleChoices(sp.GetRequiredService<OtchatsaRuntime>()), global: options.CommandGuildId is null);
            return new DiscordBot(options, commands, handler, handler, sp.GetRequiredService<DiscordRestClient>(),
                sp.GetRequiredService<AttachmentDownloader>(), new ClientWebSocketConnectionProvider(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>());
        });
        services.AddHostedService<DiscordFrontEnd>();
        return services;
    }

    /// <summary>The /style choices: the styles the classifier knows (all styles when it knows none), at most 25.</summary>
    internal static IReadOnlyList<ApplicationCommandChoice> StyleChoices(OtchatsaRuntime runtime)
    {
        var known = runtime.Recommender.Classifier.Classes;
        var styles = known.Count > 0 ? known : StyleTaxonomy.All;
        return styles
            .Take(OtchatsaCommands.MaxChoices)
            .Select(s => new ApplicationCommandChoice($"{s.NameEn} {s.NameKo}", s.Id))
            .ToArray();
    }

    private static IServiceCollection AddOtchatsaTelegram(this IServiceCollection services)
    {
        services.TryAddSingleton<ITelegramBotClient>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
            // A plain HttpClient on purpose: IHttpClientFactory's logging would write request URLs, which carry the token.
            // The HttpClient timeout is only a backstop: job calls are timed by TelegramCalls (on the TimeProvider).
            var backstop = o.PollTimeout + TimeSpan.FromSeconds(30);
            var http = new HttpClient { Timeout = backstop > o.RequestTimeout + TimeSpan.FromSeconds(10) ? backstop : o.RequestTimeout + TimeSpan.FromSeconds(10) };
            // RetryCount 0: the library does not retry 429s itself; TelegramCalls is the one retry layer.
            return new TelegramBotClient(
                new TelegramBotClientOptions(o.BotToken, o.ApiBaseUrl.TrimEnd('/')) { RetryThreshold = 0, RetryCount = 0 },
                http);
        });
        services.TryAddSingleton<TelegramCalls>();
        services.AddSingleton<TelegramJobHandler>();
        services.AddSingleton<IChatJobHandler>(sp => sp.GetRequiredService<TelegramJobHandler>());
        services.AddSingleton<TelegramPoller>();
        services.AddHostedService<TelegramPollingService>();
        return services;
    }
}
