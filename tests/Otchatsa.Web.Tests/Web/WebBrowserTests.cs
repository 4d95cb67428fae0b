using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Otchatsa.Tests.Support;
using Otchatsa.Web;

namespace Otchatsa.Tests.Web;

/// <summary>
/// One headless Chromium (Debian's package, never a Playwright download) and one real Kestrel server on a free
/// loopback port, shared by the browser tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public const string Missing = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does it as root).";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private WebApplication? _app;

    public static bool Available => File.Exists(ChromiumPath);

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (!Available)
        {
            return;
        }
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
        var runtime = new WebRuntime(() => DemoIndex.Runtime);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Web:Urls"] = "http://127.0.0.1:0",
            ["Web:RecommendPermits"] = "1000",
        }).Build();
        _app = WebFrontEnd.Build(configuration, builder => builder.Services.AddSingleton(runtime));
        await _app.StartAsync();
        Assert.NotNull(await runtime.Loaded);
        BaseUrl = _app.Urls.Single();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_playwright is not null)
        {
            await Browser.CloseAsync();
            _playwright.Dispose();
        }
    }
}

public sealed partial class WebBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    /// <summary>When set, the demo result page is saved there as PNG (how docs/web-result.png is made).</summary>
    private const string ScreenshotVariable = "OTCHATSA_WEB_SCREENSHOT";

    [SkippableFact]
    public async Task A_browser_uploads_a_demo_photo_and_sees_three_malls_and_nine_loaded_thumbnails()
    {
        Skip.IfNot(BrowserFixture.Available, BrowserFixture.Missing);
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            Locale = "en-US",
            ViewportSize = new ViewportSize { Width = 1000, Height = 900 },
        });
        var page = await context.NewPageAsync();
        var problems = Watch(page);

        await page.GotoAsync(fixture.BaseUrl + "/");
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
        Assert.Equal(23, await page.Locator(".style-card").CountAsync());
        // Choosing a file submits the form (the page's script); no button press needed.
        await page.SetInputFilesAsync("#photo", DemoIndex.QueryImage);
        await page.WaitForURLAsync(ResultUrl());

        await AssertResultRenderedAsync(page);
        var screenshot = Environment.GetEnvironmentVariable(ScreenshotVariable);
        if (!string.IsNullOrWhiteSpace(screenshot))
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        }

        await page.ClickAsync("#lang-switch");
        // The document is enough here (the thumbnails were checked above); waiting for every image's "load" once
        // timed out at 30 s with the other test assemblies running beside this one.
        await page.WaitForURLAsync(new Regex("[?]lang=ko$"), new PageWaitForURLOptions { WaitUntil = WaitUntilState.DOMContentLoaded });
        Assert.Equal("ko", await page.GetAttributeAsync("html", "lang"));
        Assert.Contains("닮은 상품 아홉 개", await page.InnerTextAsync("main"), StringComparison.Ordinal);
        Assert.Equal(9, await page.Locator("#items img").CountAsync());
        Assert.Empty(problems);
    }

    [SkippableFact]
    public async Task A_browser_drops_a_kfashion_photo_on_the_page_and_gets_an_answer()
    {
        Skip.IfNot(BrowserFixture.Available, BrowserFixture.Missing);
        // Read only: the K-Fashion photo is sent to the local test server and nothing of it is written anywhere.
        var photoPath = KFashionPhoto() ?? DemoIndex.QueryImage;
        var bytes = await File.ReadAllBytesAsync(photoPath);
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { Locale = "ko-KR" });
        var page = await context.NewPageAsync();
        var problems = Watch(page);

        await page.GotoAsync(fixture.BaseUrl + "/");
        Assert.Equal("ko", await page.GetAttributeAsync("html", "lang"));
        // A real drop event carrying a File, as a drag from the desktop would deliver it.
        await page.EvaluateAsync(
            """
            ([base64, name]) => {
              const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
              const transfer = new DataTransfer();
              transfer.items.add(new File([bytes], name, { type: 'image/jpeg' }));
              document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
            """,
            new object[] { Convert.ToBase64String(bytes), Path.GetFileName(photoPath) });
        await page.WaitForURLAsync(ResultUrl());

        await AssertResultRenderedAsync(page);
        Assert.Contains("이 분위기의 쇼핑몰 세 곳", await page.InnerTextAsync("main"), StringComparison.Ordinal);

        await page.ClickAsync("#lang-switch");
        await page.WaitForURLAsync(new Regex("[?]lang=en$"));
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
        Assert.Contains("Nine similar items", await page.InnerTextAsync("main"), StringComparison.Ordinal);
        Assert.Empty(problems);
    }

    private static async Task AssertResultRenderedAsync(IPage page)
    {
        Assert.Equal(3, await page.Locator("#malls li").CountAsync());
        Assert.Equal(9, await page.Locator("#items img").CountAsync());
        // Images actually arrived and decoded: the browser knows their pixel size.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#items img')].every(i => i.complete && i.naturalWidth > 0)");
        var widths = await page.EvalOnSelectorAllAsync<int[]>("#items img", "imgs => imgs.map(i => i.naturalWidth)");
        Assert.All(widths, w => Assert.True(w > 0));
        var photoLoaded = await page.EvaluateAsync<bool>(
            "async () => { const href = document.querySelector('svg image').getAttribute('href'); const r = await fetch(href); return r.ok && r.headers.get('content-type') === 'image/jpeg'; }");
        Assert.True(photoLoaded);
        var classes = DemoIndex.Runtime.Recommender.Classifier.Classes;
        if (await page.Locator("#not-an-outfit").CountAsync() > 0)
        {
            // A Fashion-MNIST product shot: no style is named and no person box is drawn around it.
            Assert.True(await page.Locator("#not-an-outfit").IsVisibleAsync());
            Assert.Equal(0, await page.Locator("#person-box").CountAsync());
            Assert.Equal(0, await page.Locator("#style-name").CountAsync());
        }
        else if (classes.Count > 0)
        {
            var name = await page.InnerTextAsync("#style-name");
            Assert.Contains(classes, s => name.Contains(s.NameEn, StringComparison.Ordinal) || name.Contains(s.NameKo, StringComparison.Ordinal));
        }
        else
        {
            Assert.True(await page.Locator("#no-style").IsVisibleAsync(), "the page must say it could not tell the style");
        }
    }

    /// <summary>Console errors and failed requests (a CSP violation shows up as both) collected while the test runs.</summary>
    private static List<string> Watch(IPage page)
    {
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add("console: " + message.Text);
            }
        };
        page.RequestFailed += (_, request) => problems.Add($"request failed: {request.Url} {request.Failure}");
        return problems;
    }

    private static string? KFashionPhoto()
    {
        var root = TestPaths.KFashion;
        if (root is null)
        {
            return null;
        }
        var images = Path.Combine(root, "images");
        return Directory.Exists(images)
            ? Directory.EnumerateFiles(images, "*.jpg").Order(StringComparer.Ordinal).FirstOrDefault()
            : null;
    }

    [GeneratedRegex("/r/[A-Za-z0-9_-]{22}$")]
    private static partial Regex ResultUrl();
}
