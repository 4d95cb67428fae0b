using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Otchatsa.Catalog;
using Otchatsa.Hosting;
using Otchatsa.Styles;
using Otchatsa.Tests.Support;
using Otchatsa.Web;

namespace Otchatsa.Tests.Web;

public sealed partial class WebPageTests
{
    [Fact]
    public async Task The_form_posts_a_photo_and_redirects_to_a_result_page_with_malls_and_nine_items()
    {
        await using var host = await WebTestHost.StartAsync();
        var (token, cookie) = await host.FormTokenAsync();
        using var form = WebTestHost.Photo(await File.ReadAllBytesAsync(DemoIndex.QueryImage), "look.png", contentType: "image/png");
        form.Add(new StringContent(token), "__RequestVerificationToken");
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri("/recommend", UriKind.Relative)) { Content = form };
        post.Headers.Add("Cookie", cookie);

        using var posted = await host.Client.SendAsync(post);

        Assert.Equal(HttpStatusCode.SeeOther, posted.StatusCode);
        var location = posted.Headers.Location!.OriginalString;
        Assert.Matches("^/r/[A-Za-z0-9_-]{22}$", location);

        using var page = await host.Client.GetAsync(new Uri(location, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(9, ThumbImage().Matches(html).Count);
        Assert.Equal(3, Regex.Count(html, "<li class=\"mall\">"));
        Assert.Contains($"href=\"{location}/photo\"", html, StringComparison.Ordinal);
        // The demo query is a Fashion-MNIST product shot: the page says it is not an outfit and draws no person box.
        Assert.Contains("id=\"not-an-outfit\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"person-box\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"style-name\"", html, StringComparison.Ordinal);
        Assert.Contains("id=\"try-another\"", html, StringComparison.Ordinal);

        using var photo = await host.Client.GetAsync(new Uri(location + "/photo", UriKind.Relative));
        Assert.Equal("image/jpeg", photo.Content.Headers.ContentType?.MediaType);
        Assert.Equal([0xFF, 0xD8], (await photo.Content.ReadAsByteArrayAsync())[..2]);
    }

    [Fact]
    public async Task The_form_refuses_a_post_without_its_antiforgery_token()
    {
        await using var host = await WebTestHost.StartAsync();

        using var response = await host.Client.PostAsync(new Uri("/recommend", UriKind.Relative),
            WebTestHost.Photo(await File.ReadAllBytesAsync(DemoIndex.QueryImage), "look.png"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("data-code=\"bad_request\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_file_through_the_form_gets_a_friendly_page_with_its_code()
    {
        await using var host = await WebTestHost.StartAsync();
        var (token, cookie) = await host.FormTokenAsync();
        using var form = WebTestHost.Photo("%PDF-1.7 not a photo"u8.ToArray(), "scan.pdf");
        form.Add(new StringContent(token), "__RequestVerificationToken");
        using var post = new HttpRequestMessage(HttpMethod.Post, new Uri("/recommend", UriKind.Relative)) { Content = form };
        post.Headers.Add("Cookie", cookie);
        post.Headers.AcceptLanguage.ParseAdd("ko-KR,ko;q=0.9");

        using var response = await host.Client.SendAsync(post);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("data-code=\"unsupported_format\"", html, StringComparison.Ordinal);
        Assert.Contains("지원하지 않는 사진 형식", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Results_are_looked_up_only_by_well_formed_ids_and_expire_to_a_friendly_page()
    {
        await using var host = await WebTestHost.StartAsync();

        using var unknown = await host.Client.GetAsync(new Uri("/r/AAAAAAAAAAAAAAAAAAAAAA", UriKind.Relative));
        using var malformed = await host.Client.GetAsync(new Uri("/r/..%2F..%2Fetc%2Fpasswd", UriKind.Relative));
        using var photo = await host.Client.GetAsync(new Uri("/r/AAAAAAAAAAAAAAAAAAAAAA/photo", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Gone, unknown.StatusCode);
        Assert.Contains("data-code=\"expired\"", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, photo.StatusCode);
    }

    [Fact]
    public async Task The_language_follows_accept_language_and_the_switch_is_remembered_in_a_cookie()
    {
        await using var host = await WebTestHost.StartAsync();

        using var korean = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        korean.Headers.AcceptLanguage.ParseAdd("ko-KR,ko;q=0.9,en;q=0.5");
        using var koResponse = await host.Client.SendAsync(korean);
        var koHtml = await koResponse.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"ko\">", koHtml, StringComparison.Ordinal);
        Assert.Contains("K-Fashion 23가지 스타일", koHtml, StringComparison.Ordinal);
        Assert.Contains("href=\"/?lang=en\"", koHtml, StringComparison.Ordinal);

        using var switched = new HttpRequestMessage(HttpMethod.Get, new Uri("/?lang=en", UriKind.Relative));
        switched.Headers.AcceptLanguage.ParseAdd("ko-KR");
        using var enResponse = await host.Client.SendAsync(switched);
        Assert.Contains("<html lang=\"en\">", await enResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var langCookie = enResponse.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(Texts.CookieName, StringComparison.Ordinal));
        Assert.StartsWith($"{Texts.CookieName}=en", langCookie, StringComparison.Ordinal);

        using var remembered = new HttpRequestMessage(HttpMethod.Get, new Uri("/styles/military", UriKind.Relative));
        remembered.Headers.AcceptLanguage.ParseAdd("ko-KR");
        remembered.Headers.Add("Cookie", $"{Texts.CookieName}=en");
        using var styleResponse = await host.Client.SendAsync(remembered);
        var styleHtml = await styleResponse.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", styleHtml, StringComparison.Ordinal);
        Assert.Contains("href=\"/styles/military?lang=ko\"", styleHtml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_style_page_shows_its_description_parent_and_siblings_and_unknown_styles_are_404()
    {
        await using var host = await WebTestHost.StartAsync();

        using var byId = await host.Client.GetAsync(new Uri("/styles/romantic?lang=en", UriKind.Relative));
        using var byKorean = await host.Client.GetAsync(new Uri("/styles/" + Uri.EscapeDataString("로맨틱") + "?lang=ko", UriKind.Relative));
        using var unknown = await host.Client.GetAsync(new Uri("/styles/%3Cscript%3E", UriKind.Relative));

        var html = await byId.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, byId.StatusCode);
        Assert.Contains("Lace, frills, florals and pastels", html, StringComparison.Ordinal);
        Assert.Contains("Feminine", html, StringComparison.Ordinal);
        Assert.Contains("href=\"/styles/sexy\"", html, StringComparison.Ordinal);
        Assert.Contains("로맨틱", await byKorean.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.DoesNotContain("<script>", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_home_page_lists_all_23_styles_with_the_photos_the_head_learnt_each_from()
    {
        await using var host = await WebTestHost.StartAsync();
        await host.Runtime.Loaded;
        var seen = ((Otchatsa.Styles.IStyleHeadInfo)DemoIndex.Runtime.Recommender.Classifier).Examples;

        var html = await host.Client.GetStringAsync(new Uri("/?lang=en", UriKind.Relative));

        Assert.Equal(23, Regex.Count(html, "class=\"style-card\""));
        Assert.Equal(23, Regex.Count(html, "class=\"small examples-seen\""));
        foreach (var style in Otchatsa.Styles.StyleTaxonomy.All)
        {
            Assert.Matches($"href=\"/styles/{style.Id}\">[^<]*<strong>[^<]+</strong><span>[^<]+</span><span class=\"small examples-seen\">{seen[style.Id]} photos learnt from</span>", html);
        }
    }

    [Fact]
    public async Task Pages_say_the_engine_is_warming_up_until_it_has_loaded()
    {
        using var gate = new ManualResetEventSlim();
        var runtime = new WebRuntime(() =>
        {
            gate.Wait();
            return DemoIndex.Runtime;
        });
        await using var host = await WebTestHost.StartAsync(runtime: runtime);

        var html = await host.Client.GetStringAsync(new Uri("/?lang=en", UriKind.Relative));
        gate.Set();
        await runtime.Loaded;
        var after = await host.Client.GetStringAsync(new Uri("/?lang=en", UriKind.Relative));

        Assert.Contains("id=\"warming\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"warming\"", after, StringComparison.Ordinal);
    }

    [Fact]
    public void Markup_holes_are_encoded_and_only_http_links_are_made_clickable()
    {
        const string hostile = "<img src=x onerror=\"alert(1)\">'";

        var markup = Html.Of($"<p title=\"{hostile}\">{hostile}</p>{Html.Raw("<br>")}");

        Assert.Equal("<p title=\"&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#x27;\">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#x27;</p><br>", markup.Value);
        Assert.Equal("x", Pages.SafeLink("javascript:alert(1)", Html.Raw("x")).Value);
        Assert.Equal("x", Pages.SafeLink("//evil.example/", Html.Raw("x")).Value);
        Assert.StartsWith("<a href=\"https://mall.example/\"", Pages.SafeLink("https://mall.example/", Html.Raw("x")).Value, StringComparison.Ordinal);
        Assert.Equal("로맨틱", Html.Of($"{"로맨틱"}").Value);
    }

    [Theory]
    [InlineData("Web:Urls", "ftp://127.0.0.1:21")]
    [InlineData("Web:Urls", "")]
    [InlineData("Web:RecommendPermits", "0")]
    [InlineData("Web:MaxRequestBytes", "10")]
    [InlineData("Web:Strategy", "psychic")]
    public void Invalid_web_options_stop_the_start(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => WebFrontEnd.Build(configuration));

        Assert.Contains(key.Split(':')[1], string.Join(" ", error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_adds_the_page_with_one_line_and_it_serves_on_kestrel()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Web:Enabled"] = "true",
            ["Web:Urls"] = "http://127.0.0.1:0",
        });
        // The worker's own runtime, shared rather than opened twice (and not disposed by the container: an instance).
        builder.Services.AddSingleton(DemoIndex.Runtime);
        builder.Services.AddOtchatsaWebFrontEnd(builder.Configuration);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var frontEnd = host.Services.GetServices<IHostedService>().OfType<WebFrontEndService>().Single();
            Assert.NotNull(await host.Services.GetRequiredService<WebRuntime>().Loaded);
            using var http = new HttpClient { BaseAddress = new Uri(frontEnd.Urls.Single()) };

            using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));

            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Same(DemoIndex.Runtime, host.Services.GetRequiredService<WebRuntime>().Current);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public void A_worker_with_the_page_disabled_starts_no_web_server()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Web:Enabled"] = "false" }).Build();

        services.AddOtchatsaWebFrontEnd(configuration);

        Assert.DoesNotContain(services, d => d.ImplementationType == typeof(WebFrontEndService));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(OtchatsaRuntime));
    }

    [GeneratedRegex("<img src=\"/thumbs/\\d+\"")]
    private static partial Regex ThumbImage();
}
