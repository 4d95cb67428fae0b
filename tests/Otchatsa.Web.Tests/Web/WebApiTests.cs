using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Tests.Imaging;
using Otchatsa.Tests.Support;
using Otchatsa.Web;

namespace Otchatsa.Tests.Web;

public sealed class WebApiTests
{
    [Fact]
    public async Task Posting_a_photo_to_the_api_returns_exactly_the_cli_json_object()
    {
        await using var host = await WebTestHost.StartAsync();
        var photo = await File.ReadAllBytesAsync(DemoIndex.QueryImage);

        using var response = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), WebTestHost.Photo(photo, "look.png"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        var web = JsonNode.Parse(body)!.AsObject();
        Assert.Equal(
            ["image", "ok", "error", "person", "style", "top_styles", "malls", "timings_ms"],
            web.Select(p => p.Key).ToArray());
        Assert.Equal("look.png", (string?)web["image"]);
        Assert.Equal(3, web["malls"]!.AsArray().Count);
        Assert.All(web["malls"]!.AsArray(), m => Assert.Equal(3, m!["items"]!.AsArray().Count));

        // The same photo through the CLI's path gives the same object, timings aside.
        var cli = JsonNode.Parse(RecommendJson.From("look.png", DemoIndex.Runtime.Recommender.Recommend(photo, Strategies.Create(null))).ToJsonLine())!.AsObject();
        web.Remove("timings_ms");
        cli.Remove("timings_ms");
        Assert.True(JsonNode.DeepEquals(cli, web), $"web: {web.ToJsonString()}\ncli: {cli.ToJsonString()}");
    }

    [Fact]
    public async Task Every_bad_file_gets_the_cli_error_code_and_a_client_error_status()
    {
        await using var host = await WebTestHost.StartAsync();
        var dir = Directory.CreateTempSubdirectory("otchatsa-web-bad-").FullName;
        try
        {
            var refused = BadImageCorpus.WriteTo(dir).Where(e => !e.ShouldDecode).ToArray();
            Assert.NotEmpty(refused);
            foreach (var entry in refused)
            {
                using var content = WebTestHost.Photo(await File.ReadAllBytesAsync(entry.Path!), entry.FileName);
                using var response = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), content);
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var root = json.RootElement;
                Assert.False(root.GetProperty("ok").GetBoolean(), entry.FileName);
                Assert.Equal(entry.ExpectedWireCode, root.GetProperty("error").GetProperty("code").GetString());
                Assert.Equal(WebErrorCodes.StatusOf(entry.ExpectedWireCode!), (int)response.StatusCode);
                Assert.Equal(JsonValueKind.Null, root.GetProperty("malls").ValueKind);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_request_without_a_photo_is_refused_as_empty()
    {
        await using var host = await WebTestHost.StartAsync();

        using var noFile = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), new MultipartFormDataContent { { new StringContent("x"), "note" } });
        using var emptyFile = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), WebTestHost.Photo([], "nothing.jpg"));

        Assert.Equal(HttpStatusCode.BadRequest, noFile.StatusCode);
        Assert.Contains("\"code\":\"empty\"", await noFile.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, emptyFile.StatusCode);
        Assert.Contains("\"code\":\"empty\"", await emptyFile.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_over_20_megabytes_is_refused_with_413_and_too_large()
    {
        await using var host = await WebTestHost.StartAsync();
        var oversized = new byte[20 * 1024 * 1024 + 1];

        using var response = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), WebTestHost.Photo(oversized, "huge.jpg"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("too_large", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_client_over_its_rate_limit_gets_429_with_retry_after()
    {
        await using var host = await WebTestHost.StartAsync(new Dictionary<string, string?> { ["Web:RecommendPermits"] = "2" });
        var codes = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            last?.Dispose();
            // Empty posts are cheap; the limiter counts them before the handler runs.
            last = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative), WebTestHost.Photo([], "nothing.jpg"));
            codes.Add(last.StatusCode);
        }

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests], codes);
        Assert.True(last!.Headers.RetryAfter is not null, "Retry-After missing");
        Assert.Contains("\"code\":\"rate_limited\"", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        last.Dispose();
    }

    [Fact]
    public async Task Healthz_is_503_while_the_engine_loads_and_200_once_it_is_ready()
    {
        using var gate = new ManualResetEventSlim();
        var runtime = new WebRuntime(() =>
        {
            gate.Wait();
            return DemoIndex.Runtime;
        });
        await using var host = await WebTestHost.StartAsync(runtime: runtime);

        using (var loading = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
            Assert.Contains("\"status\":\"loading\"", await loading.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var early = await host.Client.PostAsync(new Uri("/api/recommend", UriKind.Relative),
                   WebTestHost.Photo(await File.ReadAllBytesAsync(DemoIndex.QueryImage), "q.png")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.Contains("\"code\":\"unavailable\"", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.True(early.Headers.RetryAfter is not null, "Retry-After missing while loading");
        }

        gate.Set();
        Assert.NotNull(await runtime.Loaded);

        using var ready = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("ready", json.RootElement.GetProperty("status").GetString());
        Assert.Equal(DemoIndex.Runtime.Index.Items.Count, json.RootElement.GetProperty("items").GetInt32());
    }

    [Fact]
    public async Task Healthz_stays_503_with_the_reason_when_the_index_cannot_be_loaded()
    {
        var runtime = new WebRuntime(() => throw new DirectoryNotFoundException("No index at '/nowhere'."));
        await using var host = await WebTestHost.StartAsync(runtime: runtime);
        Assert.Null(await runtime.Loaded);

        using var response = await host.Client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":\"failed\"", body, StringComparison.Ordinal);
        Assert.Contains("No index at", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Thumbnails_carry_an_etag_and_answer_304_when_the_client_has_them()
    {
        await using var host = await WebTestHost.StartAsync();
        var key = DemoIndex.Runtime.Index.Items[0].Key;
        var url = new Uri($"/thumbs/{key}", UriKind.Relative);

        using var first = await host.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("image/jpeg", first.Content.Headers.ContentType?.MediaType);
        var bytes = await first.Content.ReadAsByteArrayAsync();
        Assert.Equal([0xFF, 0xD8], bytes[..2]);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.Contains("max-age", first.Headers.CacheControl?.ToString(), StringComparison.Ordinal);

        using var again = new HttpRequestMessage(HttpMethod.Get, url);
        again.Headers.IfNoneMatch.Add(etag);
        using var second = await host.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync());

        using var changed = new HttpRequestMessage(HttpMethod.Get, url);
        changed.Headers.IfNoneMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue("\"something-else\""));
        using var third = await host.Client.SendAsync(changed);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Theory]
    [InlineData("/thumbs/999999999")]
    [InlineData("/thumbs/-1")]
    [InlineData("/thumbs/..%2F..%2Fcatalog.sqlite")]
    [InlineData("/thumbs/18446744073709551615")]
    public async Task Unknown_or_malformed_thumbnail_ids_are_404(string path)
    {
        await using var host = await WebTestHost.StartAsync();

        using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("\"code\":\"not_found\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_styles_lists_the_23_styles_with_parents_and_what_the_classifier_knows()
    {
        await using var host = await WebTestHost.StartAsync();

        using var response = await host.Client.GetAsync(new Uri("/api/styles", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var styles = json.RootElement.EnumerateArray().ToArray();
        Assert.Equal(23, styles.Length);
        var military = styles.Single(s => s.GetProperty("id").GetString() == "military");
        Assert.Equal("밀리터리", military.GetProperty("name_ko").GetString());
        Assert.Equal("casual", military.GetProperty("parent").GetProperty("id").GetString());
        var known = DemoIndex.Runtime.Recommender.Classifier.Classes.Select(c => c.Id).ToHashSet();
        Assert.All(styles, s => Assert.Equal(known.Contains(s.GetProperty("id").GetString()!), s.GetProperty("recognized").GetBoolean()));
    }

    [Fact]
    public async Task Every_response_carries_the_security_headers()
    {
        await using var host = await WebTestHost.StartAsync();

        foreach (var path in new[] { "/", "/api/styles", "/healthz", "/no/such/page" })
        {
            using var response = await host.Client.GetAsync(new Uri(path, UriKind.Relative));
            var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("DENY", string.Join(",", response.Headers.GetValues("X-Frame-Options")));
        }
    }
}
