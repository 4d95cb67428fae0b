using Microsoft.Extensions.Logging.Abstractions;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord.Rest.RateLimits;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

public sealed class RestTests
{
    private static DiscordRestClient Client(
        FakeDiscordServer fake, DiscordClientOptions? options = null, IRateLimitManager? rateLimits = null, TimeProvider? clock = null) => new(
        options ?? new DiscordClientOptions { BotToken = FakeDiscordServer.Token, ApiBaseUrl = fake.ApiBaseUrl },
        new HttpClientRestRequestHandler(new HttpClient()),
        rateLimits ?? new RateLimitManager(clock ?? TimeProvider.System),
        clock ?? TimeProvider.System,
        NullLogger<DiscordRestClient>.Instance);

    [Theory]
    [InlineData(true, 500)]
    [InlineData(false, 1000)]
    public async Task A_429_is_waited_out_then_the_request_succeeds(bool bodyRetryAfter, int waitMs)
    {
        var clock = new ObservedClock();
        await using var fake = await FakeDiscordServer.StartAsync(clock);
        fake.InjectRateLimit(new RateLimitInjection("channels/", TimeSpan.FromMilliseconds(500), BodyRetryAfter: bodyRetryAfter));
        var client = Client(fake, clock: clock);
        var wait = TimeSpan.FromMilliseconds(waitMs);

        var send = client.CreateMessageAsync("500000000000000001", new MessageProperties { Content = "hi" }, null, CancellationToken.None);
        // Body retry_after (0.5 s) is preferred; without a body the whole-second Retry-After header (1 s) applies.
        // The client parks on the clock for exactly that long, and the retry goes out only when it has passed.
        await clock.WaitForTimerAsync(wait);
        clock.Advance(wait - TimeSpan.FromMilliseconds(1));
        Assert.False(send.IsCompleted);
        Assert.Equal([429], fake.Requests.Select(p => p.Status));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var message = await send.WaitAsync(DiscordHarness.Budget);

        Assert.Equal("500000000000000001", message.ChannelId);
        var posts = fake.Requests.Where(r => r.Path.StartsWith("channels/", StringComparison.Ordinal)).ToArray();
        Assert.Equal([429, 200], posts.Select(p => p.Status));
        Assert.Equal(wait, posts[1].At - posts[0].At);
    }

    [Fact]
    public async Task A_global_429_holds_other_routes_but_not_interaction_callbacks()
    {
        var clock = new ObservedClock();
        await using var fake = await FakeDiscordServer.StartAsync(clock);
        fake.InjectRateLimit(new RateLimitInjection("channels/", TimeSpan.FromSeconds(1), Global: true));
        var limits = new SignallingRateLimitManager(new RateLimitManager(clock));
        var client = Client(fake, rateLimits: limits, clock: clock);

        var message = client.CreateMessageAsync("500000000000000001", new MessageProperties { Content = "a" }, null, CancellationToken.None);
        await limits.GlobalLimitSeen.WaitAsync(DiscordHarness.Budget);
        var callback = client.CreateInteractionResponseAsync("700000000000000001", "tok",
            new InteractionResponse(InteractionCallbackType.DeferredChannelMessageWithSource), null, CancellationToken.None);
        var other = client.GetGatewayBotAsync(CancellationToken.None);

        // The callback goes out with the clock standing still; the retried message and the other route park on the
        // clock for the global reset (1 s) and go out only once it has passed.
        await callback.WaitAsync(DiscordHarness.Budget);
        await clock.WaitForTimerAsync(TimeSpan.FromSeconds(1), count: 2);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(message.IsCompleted);
        Assert.False(other.IsCompleted);
        Assert.DoesNotContain(fake.Requests, r => r.Path == "gateway/bot");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Task.WhenAll(message, other).WaitAsync(DiscordHarness.Budget);

        var limited = fake.Requests.Single(r => r.Status == 429).At;
        var callbackAt = fake.Requests.Single(r => r.Path.StartsWith("interactions/", StringComparison.Ordinal)).At;
        var gatewayAt = fake.Requests.Single(r => r.Path == "gateway/bot").At;
        Assert.Equal(limited, callbackAt);
        Assert.Equal(TimeSpan.FromSeconds(1), gatewayAt - limited);
        Assert.Equal(TimeSpan.FromSeconds(1), fake.Requests.Last(r => r.Path.StartsWith("channels/", StringComparison.Ordinal)).At - limited);
    }

    [Fact]
    public async Task Requests_carry_the_bot_authorization_and_a_discord_user_agent()
    {
        await using var fake = await FakeDiscordServer.StartAsync();

        await Client(fake).GetGatewayBotAsync(CancellationToken.None);

        var request = Assert.Single(fake.Requests);
        Assert.Equal("Bot " + FakeDiscordServer.Token, request.Authorization);
        Assert.StartsWith("DiscordBot (", request.UserAgent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uploads_over_the_file_or_request_limit_are_refused_before_sending()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var client = Client(fake, new DiscordClientOptions
        {
            BotToken = FakeDiscordServer.Token, ApiBaseUrl = fake.ApiBaseUrl, MaxUploadFileBytes = 100, MaxUploadRequestBytes = 150,
        });
        var big = new RestFile("a.jpg", new byte[101], "image/jpeg");
        var medium = new RestFile("b.jpg", new byte[80], "image/jpeg");

        await Assert.ThrowsAsync<DiscordUploadTooLargeException>(() =>
            client.CreateMessageAsync("1", new MessageProperties(), [big], CancellationToken.None));
        await Assert.ThrowsAsync<DiscordUploadTooLargeException>(() =>
            client.CreateMessageAsync("1", new MessageProperties(), [medium, medium], CancellationToken.None));
        Assert.Empty(fake.Requests);
    }

    [Fact]
    public async Task Errors_name_the_route_template_not_the_interaction_token()
    {
        await using var fake = await FakeDiscordServer.StartAsync();

        var error = await Assert.ThrowsAsync<DiscordRestException>(() => Client(fake).EditOriginalInteractionResponseAsync(
            "not-a-number", "secret-interaction-token", new MessageProperties { Content = "x" }, null, CancellationToken.None));

        Assert.Equal(404, error.StatusCode);
        Assert.DoesNotContain("secret-interaction-token", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bucket_exhaustion_waits_for_the_reset_learned_from_headers()
    {
        var time = new ObservedClock();
        var manager = new RateLimitManager(time);
        var route = new RestRoute(HttpMethod.Post, "channels/{channel_id}/messages", "channels/1/messages", "1");

        using (var lease = await manager.AcquireAsync(route, CancellationToken.None))
        {
            lease.Complete(new RateLimitInfo("abc", 0, TimeSpan.FromSeconds(2), null, false, null));
        }

        // Held: parked on the clock for the whole reset, still waiting a millisecond before it; then released.
        var next = manager.AcquireAsync(route, CancellationToken.None).AsTask();
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(1));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        (await next.WaitAsync(DiscordHarness.Budget)).Dispose();
        Assert.Equal([TimeSpan.FromSeconds(2)], time.Armed);

        // Another channel has its own bucket under the same hash.
        var other = new RestRoute(HttpMethod.Post, "channels/{channel_id}/messages", "channels/2/messages", "2");
        (await manager.AcquireAsync(other, CancellationToken.None).AsTask().WaitAsync(DiscordHarness.Budget)).Dispose();
    }

    [Fact]
    public async Task A_bucket_429_blocks_that_bucket_for_retry_after()
    {
        var time = new ObservedClock();
        var manager = new RateLimitManager(time);
        var route = new RestRoute(HttpMethod.Get, "gateway/bot", "gateway/bot");

        using (var lease = await manager.AcquireAsync(route, CancellationToken.None))
        {
            lease.Complete(new RateLimitInfo(null, null, null, TimeSpan.FromSeconds(3), false, "user"));
        }

        // Held: parked on the clock for the whole retry_after, still waiting a millisecond before it; then released.
        var next = manager.AcquireAsync(route, CancellationToken.None).AsTask();
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(3));
        time.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        (await next.WaitAsync(DiscordHarness.Budget)).Dispose();
        Assert.Equal([TimeSpan.FromSeconds(3)], time.Armed);
    }

    [Fact]
    public void Reconnect_backoff_grows_exponentially_within_bounds()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), new Random(7));
        for (var i = 0; i < 50; i++)
        {
            Assert.InRange(backoff.Next(0).TotalSeconds, 0, 1);
            Assert.InRange(backoff.Next(1).TotalSeconds, 0.5, 1);
            Assert.InRange(backoff.Next(4).TotalSeconds, 4, 8);
            Assert.InRange(backoff.Next(40).TotalSeconds, 15, 30);
        }
    }

    [Fact]
    public async Task Identify_gate_spaces_identifies_by_the_window()
    {
        var time = new ObservedClock();
        var gate = new Gateway.IdentifyGate(time, TimeSpan.FromSeconds(5));
        var limit = new SessionStartLimit { MaxConcurrency = 1, Remaining = 10 };

        await gate.WaitAsync(0, limit, CancellationToken.None);
        var second = gate.WaitAsync(0, limit, CancellationToken.None);
        await time.WaitForTimerAsync(TimeSpan.FromSeconds(5));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await second.WaitAsync(DiscordHarness.Budget);
    }

    [Fact]
    public void Rate_limit_headers_are_read()
    {
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)429);
        response.Headers.Add("X-RateLimit-Bucket", "b1");
        response.Headers.Add("X-RateLimit-Remaining", "0");
        response.Headers.Add("X-RateLimit-Reset-After", "1.25");
        response.Headers.Add("Retry-After", "2");
        response.Headers.Add("X-RateLimit-Scope", "shared");

        var info = RateLimitInfo.FromHeaders(response, null, false);

        Assert.Equal(new RateLimitInfo("b1", 0, TimeSpan.FromSeconds(1.25), TimeSpan.FromSeconds(2), false, "shared"), info);
    }

    /// <summary>Lets a test continue once the client (not just the server) has seen a global 429.</summary>
    private sealed class SignallingRateLimitManager(IRateLimitManager inner) : IRateLimitManager
    {
        private readonly TaskCompletionSource _global = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task GlobalLimitSeen => _global.Task;

        public async ValueTask<IRateLimitLease> AcquireAsync(RestRoute route, CancellationToken cancellationToken) =>
            new Lease(await inner.AcquireAsync(route, cancellationToken), _global);

        private sealed class Lease(IRateLimitLease inner, TaskCompletionSource global) : IRateLimitLease
        {
            public void Complete(RateLimitInfo info)
            {
                inner.Complete(info);
                if (info.Global)
                {
                    global.TrySetResult();
                }
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
