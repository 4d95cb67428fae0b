using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Otchatsa.Tests.Support;
using Otchatsa.Web;
using Xunit;

namespace Otchatsa.Tests.Web;

/// <summary>
/// The web front end on ASP.NET Core's in-memory test server (Microsoft.AspNetCore.Mvc.Testing's TestHost), answering
/// from the shared demo index unless a test hands in its own <see cref="WebRuntime"/>.
/// </summary>
public sealed partial class WebTestHost : IAsyncDisposable
{
    private WebTestHost(WebApplication app, WebRuntime runtime)
    {
        App = app;
        Runtime = runtime;
        Client = app.GetTestClient();
    }

    public WebApplication App { get; }
    public WebRuntime Runtime { get; }
    public HttpClient Client { get; }

    /// <summary>Starts a host; unless <paramref name="runtime"/> is given, waits until the demo index is loaded.</summary>
    public static async Task<WebTestHost> StartAsync(IDictionary<string, string?>? settings = null, WebRuntime? runtime = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Web:Enabled"] = "true",
            // Generous by default so tests that post many files measure codes, not the limiter.
            ["Web:RecommendPermits"] = "1000",
            ["Web:RateLimitWindow"] = "01:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var ownRuntime = runtime is null;
        // A registered instance is never disposed by the container, so the shared demo runtime survives each host.
        runtime ??= new WebRuntime(() => DemoIndex.Runtime);
        var app = WebFrontEnd.Build(configuration, builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Services.AddSingleton(runtime);
        });
        await app.StartAsync();
        if (ownRuntime)
        {
            Assert.NotNull(await runtime.Loaded);
        }
        return new WebTestHost(app, runtime);
    }

    /// <summary>A multipart body with one file in <paramref name="field"/>.</summary>
    public static MultipartFormDataContent Photo(byte[] bytes, string fileName, string field = "photo", string contentType = "application/octet-stream")
    {
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return new MultipartFormDataContent { { file, field, fileName } };
    }

    /// <summary>
    /// Opens <c>/</c> as a browser would and returns the form's antiforgery token with the cookie header that goes
    /// with it (the test client keeps no cookies of its own).
    /// </summary>
    public async Task<(string Token, string Cookie)> FormTokenAsync()
    {
        using var response = await Client.GetAsync(new Uri("/", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        var token = TokenField().Match(html).Groups[1].Value;
        var cookie = string.Join("; ", response.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
        Assert.NotEmpty(token);
        return (token, cookie);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
