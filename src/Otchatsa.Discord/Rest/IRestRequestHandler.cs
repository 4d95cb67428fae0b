namespace Otchatsa.Discord.Rest;

/// <summary>The HTTP transport under <see cref="DiscordRestClient"/>; a seam for tests and custom handlers.</summary>
public interface IRestRequestHandler
{
    /// <summary>Sends one request; the response is owned by the caller.</summary>
    Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken);
}

/// <summary><see cref="IRestRequestHandler"/> over an <see cref="HttpClient"/>.</summary>
public sealed class HttpClientRestRequestHandler(HttpClient httpClient) : IRestRequestHandler
{
    /// <inheritdoc />
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        httpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
}
