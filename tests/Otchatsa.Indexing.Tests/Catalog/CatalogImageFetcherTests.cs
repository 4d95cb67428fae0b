using System.Net;
using Microsoft.Extensions.Time.Testing;
using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class CatalogImageFetcherTests : IDisposable
{
    private static readonly byte[] Jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 0xFF, 0xD9];

    // Loopback servers need private networks allowed; retries back off by a millisecond so tests stay fast.
    private static readonly CatalogFetchOptions Loopback = new()
    {
        AllowPrivateNetworks = true,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromSeconds(1),
        RequestTimeout = TimeSpan.FromSeconds(10),
        MaxRetries = 2,
    };

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CatalogRow RowFor(Uri url) => new() { RowNumber = 2, Image = url.ToString(), Url = url, Mall = "m" };

    private static CatalogRow RowFor(string path) => new() { RowNumber = 2, Image = Path.GetFileName(path), ResolvedPath = path, Mall = "m" };

    [Fact]
    public async Task An_image_served_over_http_comes_back_byte_for_byte()
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 200, Jpeg, ct, "Content-Type: image/jpeg"));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(server.Url("/a.jpg")));

        Assert.True(result.Ok, result.Message);
        Assert.Equal(Jpeg, result.Bytes);
        Assert.Equal((1, 200), (result.Attempts, result.StatusCode));
    }

    [Fact]
    public async Task A_404_is_reported_as_not_found_without_retrying()
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 404, [], ct));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(server.Url("/gone.jpg")));

        Assert.Equal(FetchFailure.NotFound, result.Failure);
        Assert.Equal(404, result.StatusCode);
        Assert.Equal(1, server.RequestsFor("/gone.jpg"));
    }

    [Fact]
    public async Task A_403_is_a_final_http_error()
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 403, [], ct));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(server.Url("/private.jpg"));

        Assert.Equal(FetchFailure.HttpError, result.Failure);
        Assert.Equal(1, server.RequestsFor("/private.jpg"));
    }

    [Fact]
    public async Task A_503_followed_by_success_is_retried_and_succeeds()
    {
        await using var server = new LoopbackHttpServer((req, s, ct) => req.Attempt == 1
            ? LoopbackHttpServer.RespondAsync(s, 503, [], ct, "Retry-After: 0")
            : LoopbackHttpServer.RespondAsync(s, 200, Jpeg, ct));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(server.Url("/flaky.jpg")));

        Assert.True(result.Ok, result.Message);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(2, server.RequestsFor("/flaky.jpg"));
    }

    [Fact]
    public async Task Persistent_5xx_gives_up_after_the_configured_retries()
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 500, [], ct));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(server.Url("/broken.jpg"));

        Assert.Equal(FetchFailure.HttpError, result.Failure);
        Assert.Equal(1 + Loopback.MaxRetries, server.RequestsFor("/broken.jpg"));
    }

    [Fact]
    public async Task A_429_asking_to_wait_longer_than_the_limit_is_not_retried()
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 429, [], ct, "Retry-After: 3600"));
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(server.Url("/busy.jpg"));

        Assert.Equal(FetchFailure.HttpError, result.Failure);
        Assert.Equal(429, result.StatusCode);
        Assert.Equal(1, server.RequestsFor("/busy.jpg"));
    }

    [Fact]
    public async Task A_declared_content_length_over_the_cap_is_refused_without_reading_the_body()
    {
        // The body never comes: if the fetcher tried to read it, the test would hit the 30 s timeout instead.
        await using var server = new LoopbackHttpServer(async (_, s, ct) =>
        {
            await LoopbackHttpServer.WriteHeadAsync(s, "HTTP/1.1 200 OK\nContent-Length: 50000000\nContent-Type: image/jpeg\n", ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        using var fetcher = new CatalogImageFetcher(Loopback with { MaxBytes = 1000, RequestTimeout = TimeSpan.FromSeconds(30) });

        var result = await fetcher.FetchAsync(server.Url("/huge.jpg"));

        Assert.Equal(FetchFailure.TooLarge, result.Failure);
        Assert.Contains("declares", result.Message);
        Assert.Equal(1, server.RequestsFor("/huge.jpg"));
    }

    [Fact]
    public async Task A_chunked_body_that_outgrows_the_cap_is_cut_off()
    {
        var sent = 0L;
        await using var server = new LoopbackHttpServer(async (_, s, ct) =>
        {
            await LoopbackHttpServer.WriteHeadAsync(s, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Type: image/jpeg\n", ct);
            var chunk = new byte[16 * 1024];
            var prefix = System.Text.Encoding.ASCII.GetBytes($"{chunk.Length:X}\r\n");
            for (var i = 0; i < 64 * 1024; i++) // up to 1 GiB: far more than the client will accept
            {
                await s.WriteAsync(prefix, ct);
                await s.WriteAsync(chunk, ct);
                await s.WriteAsync("\r\n"u8.ToArray(), ct);
                Interlocked.Add(ref sent, chunk.Length);
            }
        });
        using var fetcher = new CatalogImageFetcher(Loopback with { MaxBytes = 100_000, RequestTimeout = TimeSpan.FromSeconds(30) });

        var result = await fetcher.FetchAsync(server.Url("/endless.jpg"));

        Assert.Equal(FetchFailure.TooLarge, result.Failure);
        Assert.Contains("more than", result.Message);
        Assert.Equal(1, server.RequestsFor("/endless.jpg"));
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 16 * 1024, "server should have been cut off early");
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_on_every_attempt()
    {
        // An hour per attempt, on a fake clock: the attempt ends exactly when the clock passes its timeout.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var timeout = TimeSpan.FromHours(1);
        await using var server = new LoopbackHttpServer((_, _, ct) => Task.Delay(Timeout.Infinite, ct));
        using var fetcher = new CatalogImageFetcher(Loopback with { RequestTimeout = timeout, MaxRetries = 1 }, timeProvider: time);

        var fetch = fetcher.FetchAsync(server.Url("/slow.jpg"));
        await WaitUntilAsync(() => server.RequestsFor("/slow.jpg") == 1);
        time.Advance(timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(fetch.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        // The retry waits its (millisecond, jittered) back-off on the same clock.
        await WaitUntilAsync(() => server.RequestsFor("/slow.jpg") == 2, () => time.Advance(TimeSpan.FromMilliseconds(1)));
        Assert.False(fetch.IsCompleted);
        time.Advance(timeout);
        var result = await fetch.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(FetchFailure.Timeout, result.Failure);
        Assert.Equal(2, result.Attempts);
        Assert.Contains("within 3600 s", result.Message);
    }

    [Fact]
    public async Task Cancelling_the_callers_token_throws_rather_than_reporting_a_timeout()
    {
        // The clock stands still, so the attempt's own timeout cannot be what ends the fetch.
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = new LoopbackHttpServer((_, _, ct) => Task.Delay(Timeout.Infinite, ct));
        using var fetcher = new CatalogImageFetcher(Loopback, timeProvider: time);
        using var cts = new CancellationTokenSource();

        var fetch = fetcher.FetchAsync(server.Url("/slow.jpg"), cts.Token);
        await WaitUntilAsync(() => server.RequestsFor("/slow.jpg") == 1);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, server.RequestsFor("/slow.jpg"));
    }

    /// <summary>Polls <paramref name="condition"/> (giving up after 30 s of real time), running <paramref name="step"/> between polls.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Action? step = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            step?.Invoke();
            await Task.Delay(5);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task Loopback_hosts_are_refused_unless_private_networks_are_allowed(string host)
    {
        await using var server = new LoopbackHttpServer((_, s, ct) => LoopbackHttpServer.RespondAsync(s, 200, Jpeg, ct));
        using var fetcher = new CatalogImageFetcher(Loopback with { AllowPrivateNetworks = false });

        var result = await fetcher.FetchAsync(new Uri($"http://{host}:{server.Port}/a.jpg"));

        Assert.Equal(FetchFailure.BlockedAddress, result.Failure);
        Assert.Contains("--allow-private-networks", result.Message); // a real way to allow it
        Assert.Contains(CatalogFetchOptions.AllowPrivateNetworksVariable, result.Message);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(0, server.TotalRequests);
    }

    [Fact]
    public async Task A_redirect_on_the_same_host_is_followed()
    {
        await using var server = new LoopbackHttpServer((req, s, ct) => req.Path == "/old.jpg"
            ? LoopbackHttpServer.RespondAsync(s, 302, [], ct, "Location: /new.jpg")
            : LoopbackHttpServer.RespondAsync(s, 200, Jpeg, ct));
        using var allowed = new CatalogImageFetcher(Loopback);

        var result = await allowed.FetchAsync(server.Url("/old.jpg"));

        Assert.True(result.Ok, result.Message);
        Assert.Equal(1, server.RequestsFor("/new.jpg"));
    }

    [Fact]
    public async Task Rows_the_manifest_rejected_fail_as_invalid_without_any_request()
    {
        using var fetcher = new CatalogImageFetcher(Loopback);
        var row = new CatalogRow { RowNumber = 2, Image = "ftp://x/a.jpg", Rejection = "unsupported URL scheme 'ftp:'" };

        var result = await fetcher.FetchAsync(row);

        Assert.Equal(FetchFailure.InvalidUrl, result.Failure);
        Assert.Equal(row.Rejection, result.Message);
    }

    [Fact]
    public async Task A_local_file_is_read()
    {
        var path = _dir.File("a.jpg");
        await File.WriteAllBytesAsync(path, Jpeg);
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(path));

        Assert.Equal(Jpeg, result.Bytes);
    }

    [Fact]
    public async Task A_missing_local_file_is_not_found()
    {
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(_dir.File("missing.jpg")));

        Assert.Equal(FetchFailure.NotFound, result.Failure);
    }

    [Fact]
    public async Task A_local_file_over_the_cap_is_refused_by_its_size()
    {
        var path = _dir.File("big.jpg");
        await File.WriteAllBytesAsync(path, new byte[2001]);
        using var fetcher = new CatalogImageFetcher(Loopback with { MaxBytes = 2000 });

        var result = await fetcher.FetchAsync(RowFor(path));

        Assert.Equal(FetchFailure.TooLarge, result.Failure);
    }

    [SkippableFact]
    public async Task A_fifo_or_a_device_given_as_image_is_a_read_error_without_opening_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/mkfifo"), "needs Linux with mkfifo");
        var fifo = _dir.File("pipe.jpg");
        using (var mkfifo = System.Diagnostics.Process.Start("/usr/bin/mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        using var fetcher = new CatalogImageFetcher(Loopback);

        // Opening a FIFO without a writer blocks forever; the fetch must answer at once instead.
        foreach (var path in new[] { fifo, "/dev/zero", "/dev/null" })
        {
            var result = await fetcher.FetchAsync(RowFor(path));
            Assert.Equal(FetchFailure.ReadError, result.Failure);
            Assert.Contains("not a regular file", result.Message);
        }
    }

    [Fact]
    public async Task A_directory_given_as_image_is_a_read_error()
    {
        using var fetcher = new CatalogImageFetcher(Loopback);

        var result = await fetcher.FetchAsync(RowFor(_dir.Path));

        Assert.Equal(FetchFailure.ReadError, result.Failure);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("64:ff9b::7f00:1", false)]
    [InlineData("2002:7f00:1::", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("2001:4860:4860::8888", true)]
    public void Only_globally_routable_addresses_count_as_public(string address, bool isPublic)
    {
        Assert.Equal(isPublic, NetworkAddressPolicy.IsPublic(IPAddress.Parse(address)));
    }
}
