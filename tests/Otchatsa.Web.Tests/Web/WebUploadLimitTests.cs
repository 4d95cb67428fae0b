using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Otchatsa.Tests.Support;
using Otchatsa.Web;

namespace Otchatsa.Tests.Web;

/// <summary>
/// Uploads are bounded before they are read: what can turn a request away (the gate, the declared length) is decided
/// from its headers, and the body is streamed into memory only, never spooled to a temp file.
/// </summary>
public sealed class WebUploadLimitTests
{
    /// <summary>Longest any one response may take here: a guard against a hang (a server reading a blocked body), not a timing.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(2);

    private static readonly Uri Api = new("/api/recommend", UriKind.Relative);

    [Fact]
    public async Task A_full_gate_answers_503_with_retry_after_without_reading_the_body()
    {
        await using var host = await WebTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Web:MaxConcurrentAnalyses"] = "1",
            ["Web:AnalysisQueue"] = "0",
        });
        var gate = host.App.Services.GetRequiredService<AnalysisGate>();
        var (body, type) = await MultipartAsync(Padded(await File.ReadAllBytesAsync(DemoIndex.QueryImage), 1024 * 1024), "q.png");

        // The first upload takes the only place and stalls half-way through its body.
        using var first = new TrickleContent(body, type, pauseAt: body.Length / 2, declareLength: true);
        var firstResponse = host.Client.PostAsync(Api, first);
        await first.Paused.WaitAsync(Hang);
        Assert.True(SpinWait.SpinUntil(() => gate.Admitted == 1, Hang), "the first upload was never admitted");

        // The second is turned away from its headers alone: its body never gets past the first chunk.
        using var second = new TrickleContent(body, type, pauseAt: 1, declareLength: true);
        using var secondRequest = new HttpRequestMessage(HttpMethod.Post, Api) { Content = second };
        using (var refused = await host.Client.SendAsync(secondRequest, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Hang))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After missing");
            Assert.False(second.Finished);
            // Once answered, the server discards the rest of the body (so a client still sending sees the answer).
            second.Release();
            Assert.Equal("busy", ErrorCode(await refused.Content.ReadAsStringAsync().WaitAsync(Hang)));
        }
        Assert.Equal(1, gate.Admitted);

        first.Release();
        using (var answered = await firstResponse.WaitAsync(Hang))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
        Assert.Equal(0, gate.Admitted);
        using var again = await host.Client.PostAsync(Api, WebTestHost.Photo(await File.ReadAllBytesAsync(DemoIndex.QueryImage), "q.png"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_declared_oversize_upload_gets_413_without_its_body_being_read()
    {
        await using var host = await WebTestHost.StartAsync();
        var (body, type) = await MultipartAsync(new byte[25 * 1024 * 1024], "huge.jpg");
        using var content = new TrickleContent(body, type, pauseAt: 1, declareLength: true);

        using var response = await host.Client.PostAsync(Api, content).WaitAsync(Hang);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("too_large", ErrorCode(await response.Content.ReadAsStringAsync()));
        Assert.False(content.Finished);
        Assert.Equal(0, host.App.Services.GetRequiredService<AnalysisGate>().Admitted);
    }

    [Fact]
    public async Task A_chunked_upload_without_a_length_is_cut_off_at_the_limit_with_413()
    {
        await using var host = await WebTestHost.StartAsync(new Dictionary<string, string?> { ["Web:MaxRequestBytes"] = "1048576" });
        var (body, type) = await MultipartAsync(new byte[8 * 1024 * 1024], "huge.jpg");
        using var content = new TrickleContent(body, type, pauseAt: body.Length, declareLength: false);

        using var response = await host.Client.PostAsync(Api, content).WaitAsync(Hang);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("too_large", ErrorCode(await response.Content.ReadAsStringAsync()));
        // Counted while streaming: the server stopped reading soon after the first megabyte.
        Assert.True(content.Given < 4 * 1024 * 1024, $"{content.Given} bytes were sent");
    }

    [Fact]
    public async Task A_form_with_too_many_fields_gets_400_bad_form_not_too_large()
    {
        await using var host = await WebTestHost.StartAsync();
        using var form = WebTestHost.Photo(await File.ReadAllBytesAsync(DemoIndex.QueryImage), "q.png");
        for (var i = 0; i < 20; i++)
        {
            form.Add(new StringContent(new string('x', 1500)), $"note{i}");
        }

        using var response = await host.Client.PostAsync(Api, form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("bad_form", ErrorCode(body));
        Assert.Contains("more than 16 parts", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_is_streamed_into_memory_and_never_spooled_to_a_temp_file()
    {
        await using var host = await WebTestHost.StartAsync();
        // A real photo followed by padding, so the body is far past ASP.NET Core's 64 KB in-memory threshold for forms.
        var (body, type) = await MultipartAsync(Padded(await File.ReadAllBytesAsync(DemoIndex.QueryImage), 3 * 1024 * 1024), "padded.png");
        using var content = new TrickleContent(body, type, pauseAt: 2 * 1024 * 1024, declareLength: true);

        var response = host.Client.PostAsync(Api, content);
        await content.Paused.WaitAsync(Hang);
        // Two megabytes have gone in: a buffering form reader would hold an open ASPNETCORE_*.tmp file by now.
        Assert.Empty(OpenTempFiles());
        content.Release();
        using (var answered = await response.WaitAsync(Hang))
        {
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        }
        Assert.Empty(OpenTempFiles());
    }

    /// <summary>Files this process has open whose name is one of ASP.NET Core's request-buffering temp files.</summary>
    private static string[] OpenTempFiles() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Select(fd =>
            {
                try
                {
                    return fd.LinkTarget ?? "";
                }
                catch (IOException)
                {
                    return ""; // closed meanwhile
                }
            })
            .Where(target => Path.GetFileName(target).StartsWith("ASPNETCORE_", StringComparison.Ordinal))
            .ToArray();

    /// <summary>A PNG followed by zeros up to <paramref name="size"/> bytes (decoders stop at the PNG's end chunk).</summary>
    private static byte[] Padded(byte[] photo, int size)
    {
        var padded = new byte[size];
        photo.CopyTo(padded, 0);
        return padded;
    }

    private static string? ErrorCode(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("error").GetProperty("code").GetString();
    }

    private static async Task<(byte[] Body, MediaTypeHeaderValue Type)> MultipartAsync(byte[] file, string name)
    {
        using var form = WebTestHost.Photo(file, name);
        return (await form.ReadAsByteArrayAsync(), form.Headers.ContentType!);
    }

    /// <summary>
    /// A request body that stops after <c>pauseAt</c> bytes until <see cref="Release"/>, so a test can see what the
    /// server does before the body is complete; with <c>declareLength</c> false it is sent chunked (no length).
    /// </summary>
    private sealed class TrickleContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly int _pauseAt;
        private readonly bool _declareLength;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TrickleContent(byte[] body, MediaTypeHeaderValue type, int pauseAt, bool declareLength)
        {
            _body = body;
            _pauseAt = pauseAt;
            _declareLength = declareLength;
            Headers.ContentType = type;
        }

        /// <summary>Completes when the first <c>pauseAt</c> bytes have been taken.</summary>
        public Task Paused => _paused.Task;

        public long Given { get; private set; }

        public bool Finished { get; private set; }

        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            const int chunk = 16 * 1024;
            var at = 0;
            while (at < _body.Length)
            {
                if (at == _pauseAt)
                {
                    _paused.TrySetResult();
                    await _release.Task;
                }
                var end = Math.Min(_body.Length, at < _pauseAt ? Math.Min(_pauseAt, at + chunk) : at + chunk);
                await stream.WriteAsync(_body.AsMemory(at, end - at));
                Given += end - at;
                at = end;
            }
            _paused.TrySetResult();
            Finished = true;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return _declareLength;
        }

        protected override void Dispose(bool disposing)
        {
            _release.TrySetCanceled();
            base.Dispose(disposing);
        }
    }
}
