using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Otchatsa.Discord.Models;
using Otchatsa.Discord.Rest;
using Otchatsa.Discord.Rest.RateLimits;
using Otchatsa.FakeDiscord;

namespace Otchatsa.Discord.Tests;

/// <summary>The REST client's one retry layer against injected faults on the message POST (time from a fake clock).</summary>
public sealed class RetryTests
{
    private const string Channel = "500000000000000001";

    private static (DiscordRestClient Client, FakeTimeProvider Time) Client(FakeDiscordServer fake)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var options = new DiscordClientOptions
        {
            BotToken = FakeDiscordServer.Token,
            ApiBaseUrl = fake.ApiBaseUrl,
            RequestTimeout = TimeSpan.FromSeconds(10),
            RetryBaseDelay = TimeSpan.FromSeconds(1),
        };
        var client = new DiscordRestClient(options, new HttpClientRestRequestHandler(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }),
            new RateLimitManager(time), time, NullLogger<DiscordRestClient>.Instance);
        return (client, time);
    }

    private static MessageProperties Reply(string nonce) => new()
    {
        Content = "your style",
        MessageReference = new MessageReference { MessageId = "700000000000000001", ChannelId = Channel },
        Nonce = nonce,
        EnforceNonce = true,
    };

    /// <summary>Lets the fake clock run (in small steps, so no timer is jumped over) until <paramref name="task"/> ends.</summary>
    private static async Task<T> RunClockAsync<T>(FakeTimeProvider time, Task<T> task)
    {
        for (var i = 0; i < 2000 && !task.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.WhenAny(task, Task.Delay(5));
        }
        return await task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(RestFaultKind.Status, 502, false)]
    [InlineData(RestFaultKind.Status, 500, false)]
    [InlineData(RestFaultKind.Status, 502, true)]
    [InlineData(RestFaultKind.Reset, 0, false)]
    [InlineData(RestFaultKind.Reset, 0, true)]
    [InlineData(RestFaultKind.Hang, 0, false)]
    [InlineData(RestFaultKind.Hang, 0, true)]
    public async Task A_reply_with_an_enforced_nonce_survives_a_fault_on_its_POST_and_exists_exactly_once(
        RestFaultKind kind, int status, bool afterCreate)
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        fake.InjectFault(new RestFault("channels/", kind, status, afterCreate));
        var (client, time) = Client(fake);

        var message = await RunClockAsync(time, client.CreateMessageAsync(Channel, Reply("700000000000000001r"), null, CancellationToken.None));

        var created = Assert.Single(fake.CreatedMessages);
        Assert.Equal(created.Id, message.Id);
        Assert.Equal("700000000000000001", created.ReferencedMessageId);
        var posts = fake.Requests.Where(r => r.Method == "POST").ToArray();
        Assert.Equal(2, posts.Length);
        Assert.All(posts, p => Assert.Equal("700000000000000001r", (string?)p.Json!["nonce"]));
        Assert.All(posts, p => Assert.True((bool)p.Json!["enforce_nonce"]!));
    }

    [Fact]
    public async Task Faults_on_every_attempt_give_up_after_the_retry_budget_with_no_message_created()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            fake.InjectFault(new RestFault("channels/", RestFaultKind.Status, 503));
        }
        var (client, time) = Client(fake);

        var failed = await Assert.ThrowsAsync<DiscordRestException>(() =>
            RunClockAsync(time, client.CreateMessageAsync(Channel, Reply("n1"), null, CancellationToken.None)));

        Assert.Equal(503, failed.StatusCode);
        Assert.Equal(5, fake.Requests.Count(r => r.Method == "POST")); // one try + MaxRetries (4)
        Assert.Empty(fake.CreatedMessages);
    }

    [Theory]
    [InlineData(RestFaultKind.Status, 502)]
    [InlineData(RestFaultKind.Reset, 0)]
    public async Task A_message_POST_without_a_nonce_is_not_repeated_after_an_ambiguous_failure(RestFaultKind kind, int status)
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        fake.InjectFault(new RestFault("channels/", kind, status, AfterCreate: true));
        var (client, time) = Client(fake);

        await Assert.ThrowsAnyAsync<Exception>(() =>
            RunClockAsync(time, client.CreateMessageAsync(Channel, new MessageProperties { Content = "hi" }, null, CancellationToken.None)));

        Assert.Single(fake.Requests, r => r.Method == "POST");
        Assert.Single(fake.CreatedMessages);
    }

    [Fact]
    public async Task The_fake_honours_enforce_nonce_and_only_enforce_nonce()
    {
        await using var fake = await FakeDiscordServer.StartAsync();
        var (client, _) = Client(fake);

        var first = await client.CreateMessageAsync(Channel, Reply("same"), null, CancellationToken.None);
        var again = await client.CreateMessageAsync(Channel, Reply("same"), null, CancellationToken.None);
        var unenforced = await client.CreateMessageAsync(Channel, Reply("same") with { EnforceNonce = null }, null, CancellationToken.None);

        Assert.Equal(first.Id, again.Id);
        Assert.NotEqual(first.Id, unenforced.Id);
        Assert.Equal(2, fake.CreatedMessages.Count);
    }

    [Fact]
    public async Task A_refused_connection_proves_the_request_was_not_sent_and_a_reset_does_not()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri($"http://127.0.0.1:{port}/")));
        Assert.True(SendFailures.ProvesNotSent(refused));

        await using var fake = await FakeDiscordServer.StartAsync();
        fake.InjectFault(new RestFault("channels/", RestFaultKind.Reset));
        var reset = await Assert.ThrowsAsync<HttpRequestException>(() =>
            http.PostAsync(new Uri(fake.ApiBaseUrl, $"channels/{Channel}/messages"), new StringContent("{}")));
        Assert.False(SendFailures.ProvesNotSent(reset));
    }
}
