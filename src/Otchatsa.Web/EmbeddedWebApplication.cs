using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Otchatsa.Web;

/// <summary>
/// A Kestrel application run inside a Generic Host worker as one of its hosted services: built and started with the
/// worker, stopped and disposed with it, logging through the worker's loggers, and never reacting to Ctrl+C or SIGTERM
/// itself (the worker's host owns those). The web page and the worker's metrics endpoint are both one of these.
/// </summary>
public abstract class EmbeddedWebApplication(ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The addresses Kestrel bound (the real port when the configuration asked for port 0).</summary>
    public IReadOnlyList<string> Urls => _app?.Urls.ToArray() ?? [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _app = Build(UseWorkerHost);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        OnListening(string.Join(", ", _app.Urls));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            _app = null;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Builds the application; call <paramref name="useWorkerHost"/> on its builder before building.</summary>
    protected abstract WebApplication Build(Action<WebApplicationBuilder> useWorkerHost);

    /// <summary>Called once the application listens (log the addresses).</summary>
    protected abstract void OnListening(string urls);

    private void UseWorkerHost(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, OwnedByWorkerLifetime>();
    }

    /// <summary>A lifetime that waits for nothing and stops when told: the outer host decides when the application stops.</summary>
    private sealed class OwnedByWorkerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
