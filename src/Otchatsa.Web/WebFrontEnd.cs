using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Otchatsa.Web;

/// <summary>Builds the self-contained web application: Kestrel on <c>Web:Urls</c>, the page's services and routes.</summary>
public static class WebFrontEnd
{
    /// <summary>
    /// A ready-to-start application. <paramref name="configure"/> runs after the page's services are registered, so it
    /// can replace them (tests swap in a <see cref="WebRuntime"/> or a test server). Throws
    /// <see cref="OptionsValidationException"/> for invalid <c>Web</c> options.
    /// </summary>
    public static WebApplication Build(IConfiguration configuration, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(WebOptions.Section).Get<WebOptions>() ?? new WebOptions();
        var validation = new WebOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(WebOptions.Section, typeof(WebOptions), validation.Failures);
        }
        // Slim: no appsettings or environment scanning of its own; the caller's configuration is the only source.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseUrls([.. options.UrlList]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            // What Kestrel buffers per connection ahead of the page (default 1 MB): with many uploads arriving at once
            // this, not the page, would hold the memory; uploads are read as they arrive anyway.
            kestrel.Limits.MaxRequestBufferSize = 64 * 1024;
        });
        // Per-request framework logs would drown the worker's own; warnings and errors still show.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddOtchatsaWeb(builder.Configuration);
        // Antiforgery keys live in memory only (the ephemeral provider alone still initialises the on-disk key ring).
        builder.Services.AddDataProtection();
        builder.Services.Configure<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new InMemoryKeyRepository();
            o.XmlEncryptor = new NullXmlEncryptor();
        });
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapOtchatsaWeb();
        return app;
    }
}

/// <summary>Runs the web front end inside a Generic Host worker, sharing the worker's engine and logging.</summary>
internal sealed partial class WebFrontEndService(
    IConfiguration configuration,
    WebRuntime runtime,
    ILoggerFactory loggerFactory,
    ILogger<WebFrontEndService> logger) : EmbeddedWebApplication(loggerFactory)
{
    protected override WebApplication Build(Action<WebApplicationBuilder> useWorkerHost)
    {
        runtime.Start();
        return WebFrontEnd.Build(configuration, builder =>
        {
            useWorkerHost(builder);
            builder.Services.AddSingleton(runtime);
        });
    }

    protected override void OnListening(string urls) => LogListening(urls);

    [LoggerMessage(Level = LogLevel.Information, Message = "Web: listening on {Urls}")]
    private partial void LogListening(string urls);
}
