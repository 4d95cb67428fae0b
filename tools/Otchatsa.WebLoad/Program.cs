// Bounded loopback load run against the web page's upload endpoint: starts `otchatsa web` as a child process on
// 127.0.0.1 with a private TMPDIR, sends N concurrent large photo uploads to POST /api/recommend, and reports whether
// every request was answered (status counts, Retry-After), the server's peak RSS (VmHWM from /proc/<pid>/status) and
// the ASP.NET Core temp files (ASPNETCORE_*) seen in its TMPDIR during the run and left after it.
//
//   dotnet run --project tools/Otchatsa.WebLoad -c Release -- \
//       --otchatsa src/Otchatsa.Cli/bin/Release/net10.0/linux-x64/otchatsa [--requests 100] [--megabytes 19]
//
// Bounds: at most 500 requests of at most 64 MB, one run of at most 600 s, loopback only.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net;
using Otchatsa.Catalog;
using Otchatsa.Demo;
using Otchatsa.Indexing;
using Otchatsa.Pipeline;
using SkiaSharp;

var options = LoadOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

var work = Directory.CreateTempSubdirectory("otchatsa-webload-").FullName;
var serverTmp = Directory.CreateDirectory(Path.Combine(work, "server-tmp")).FullName;
Process? server = null;
try
{
    var index = options.Index ?? await BuildSmallIndexAsync(Path.Combine(work, "demo"));
    var photo = MakePhoto(options.Bytes);
    Console.WriteLine($"upload: a {photo.Length / 1048576.0:0.0} MB PNG (random pixels), {options.Requests} at once");

    var port = FreeLoopbackPort();
    var baseUri = new Uri($"http://127.0.0.1:{port}");
    server = StartServer(options, index, baseUri, serverTmp);
    using var http = new HttpClient(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = options.Requests,
        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
    })
    { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds) };
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeoutSeconds));

    await WaitReadyAsync(http, server, deadline.Token);
    var rssReady = Proc.Kb(server.Id, "VmRSS");
    Console.WriteLine($"server ready (pid {server.Id}), RSS {rssReady / 1024} MB");

    var sampler = new Sampler(serverTmp);
    var sampling = sampler.RunAsync(deadline.Token);
    var clock = Stopwatch.StartNew();
    var outcomes = await Task.WhenAll(Enumerable.Range(0, options.Requests).Select(i => SendAsync(http, photo, i, options.ExpectContinue, deadline.Token)));
    var elapsed = clock.Elapsed;
    // Let the server finish draining bodies it did not read, then look at what is left.
    await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
    sampler.SampleOnce();
    var hwm = Proc.Kb(server.Id, "VmHWM");
    var left = Sampler.TempFiles(serverTmp);
    await deadline.CancelAsync();
    await sampling;

    var answered = outcomes.Count(o => o.Status is not null);
    Console.WriteLine();
    Console.WriteLine($"requests:        {options.Requests} × {photo.Length / 1048576.0:0.0} MB → POST /api/recommend, server {options.Otchatsa}");
    Console.WriteLine($"                 Web:RecommendPermits={options.Permits} (one loopback client stands in for many addresses), other Web:* defaults; Expect: 100-continue {(options.ExpectContinue ? "on" : "off")}; "
        + $"MALLOC_MMAP_THRESHOLD_={Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") ?? "unset"}");
    Console.WriteLine($"answered:        {answered}/{options.Requests} in {elapsed.TotalSeconds:0.0} s");
    foreach (var group in outcomes.Where(o => o.Status is not null).GroupBy(o => (o.Status, o.Code)).OrderBy(g => g.Key.Status))
    {
        var withRetry = group.Count(o => o.RetryAfter is not null);
        var retry = group.Key.Status is 429 or 503 ? $", Retry-After on {withRetry}" : "";
        Console.WriteLine($"  {group.Key.Status} {group.Key.Code ?? "ok"}: {group.Count()}{retry}");
    }
    foreach (var group in outcomes.Where(o => o.Status is null).GroupBy(o => o.Error))
    {
        Console.WriteLine($"  no answer ({group.Key}): {group.Count()}");
    }
    Console.WriteLine($"server RSS:      {rssReady / 1024} MB when ready, peak (VmHWM) {hwm / 1024} MB");
    Console.WriteLine($"temp files:      peak {sampler.PeakTempFiles} ASPNETCORE_* ({sampler.PeakTempBytes / 1048576.0:0} MB) during the run, {left.Count} left after");
    return answered == options.Requests ? 0 : 1;
}
finally
{
    if (server is { HasExited: false })
    {
        // SIGTERM first (the server stops gracefully), then make sure.
        using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }
        if (!server.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            server.Kill();
        }
    }
    server?.Dispose();
    Directory.Delete(work, recursive: true);
}

static async Task<string> BuildSmallIndexAsync(string dir)
{
    Console.WriteLine("building a small demo index (Fashion-MNIST, 6 photos per class)…");
    var data = await FashionMnist.LocateAsync();
    var catalog = data.WriteDemoCatalog(Path.Combine(dir, "catalog"), 6);
    var index = Path.Combine(dir, "index");
    using var engine = new OutfitEngine(ModelPaths.Locate());
    await new IndexBuilder(engine).BuildAsync(catalog.ManifestPath, index);
    return index;
}

// A valid PNG of random pixels (incompressible, so the file is as large as its pixels), padded after IEND to the
// exact size: the server has to read, decode and analyse the whole photo.
static byte[] MakePhoto(long bytes)
{
    var side = (int)Math.Sqrt(bytes / 3.0 * 0.97);
    var random = new Random(11);
    using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque));
    var pixels = bitmap.GetPixelSpan();
    var noise = new byte[pixels.Length];
    random.NextBytes(noise);
    for (var i = 3; i < noise.Length; i += 4)
    {
        noise[i] = 255;
    }
    noise.CopyTo(pixels);
    using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
    var encoded = png.ToArray();
    if (encoded.Length > bytes)
    {
        throw new InvalidOperationException($"the PNG ({encoded.Length} bytes) came out larger than {bytes} bytes");
    }
    Array.Resize(ref encoded, (int)bytes);
    return encoded;
}

static int FreeLoopbackPort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static Process StartServer(LoadOptions options, string index, Uri baseUri, string tmp)
{
    var start = new ProcessStartInfo(options.Otchatsa)
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };
    foreach (var arg in new[] { "web", "--index", index, "--urls", baseUri.ToString().TrimEnd('/') })
    {
        start.ArgumentList.Add(arg);
    }
    start.Environment["TMPDIR"] = tmp;
    start.Environment["OTCHATSA_Web__RecommendPermits"] = options.Permits.ToString(CultureInfo.InvariantCulture);
    var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
    // Drain its output so it never blocks on a full pipe.
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is not null)
        {
            Console.Error.WriteLine($"server: {e.Data}");
        }
    };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitReadyAsync(HttpClient http, Process server, CancellationToken cancellationToken)
{
    while (true)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (server.HasExited)
        {
            throw new InvalidOperationException($"the server exited with code {server.ExitCode}");
        }
        try
        {
            using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }
        await Task.Delay(250, cancellationToken);
    }
}

static async Task<Outcome> SendAsync(HttpClient http, byte[] photo, int i, bool expectContinue, CancellationToken cancellationToken)
{
    try
    {
        var file = new ByteArrayContent(photo);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var form = new MultipartFormDataContent { { file, "photo", $"load-{i}.png" } };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/recommend", UriKind.Relative)) { Content = form };
        // With Expect: 100-continue (curl's default for large bodies) the body is sent only once the server reads it.
        request.Headers.ExpectContinue = expectContinue;
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        string? code = null;
        var at = body.IndexOf("\"code\":\"", StringComparison.Ordinal);
        if (at >= 0)
        {
            var from = at + 8;
            code = body[from..body.IndexOf('"', from)];
        }
        return new Outcome((int)response.StatusCode, code, response.Headers.RetryAfter?.ToString(), null);
    }
    catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
    {
        return new Outcome(null, null, null, ex.GetType().Name + (ex.InnerException is { } inner ? "/" + inner.GetType().Name : ""));
    }
}

internal sealed record Outcome(int? Status, string? Code, string? RetryAfter, string? Error);

internal sealed class LoadOptions
{
    public const string Usage =
        "usage: Otchatsa.WebLoad --otchatsa <path to the otchatsa binary> [--index <dir>] [--requests 100 (≤ 500)] "
        + "[--megabytes 19 (≤ 64)] [--permits 1000] [--timeout 300 (≤ 600 s)] [--expect-continue true]";

    public string Otchatsa { get; private set; } = "";
    public string? Index { get; private set; }
    public int Requests { get; private set; } = 100;
    public long Bytes { get; private set; } = 19L * 1024 * 1024;
    public int Permits { get; private set; } = 1000;
    public int TimeoutSeconds { get; private set; } = 300;
    public bool ExpectContinue { get; private set; }

    public static LoadOptions? Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--otchatsa": o.Otchatsa = Path.GetFullPath(value); break;
                case "--index": o.Index = Path.GetFullPath(value); break;
                case "--requests": o.Requests = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--megabytes": o.Bytes = (long)(double.Parse(value, CultureInfo.InvariantCulture) * 1024 * 1024); break;
                case "--permits": o.Permits = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--timeout": o.TimeoutSeconds = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--expect-continue": o.ExpectContinue = bool.Parse(value); break;
                default: return null;
            }
        }
        var valid = args.Length % 2 == 0 && File.Exists(o.Otchatsa) && o.Requests is >= 1 and <= 500
                    && o.Bytes is >= 1024 and <= 64L * 1024 * 1024 && o.Permits >= 1 && o.TimeoutSeconds is >= 10 and <= 600;
        return valid ? o : null;
    }
}

/// <summary>Samples the server's memory and its temp folder every 100 ms.</summary>
internal sealed class Sampler(string tmp)
{
    public int PeakTempFiles { get; private set; }
    public long PeakTempBytes { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            SampleOnce();
            try
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void SampleOnce()
    {
        var files = TempFiles(tmp);
        PeakTempFiles = Math.Max(PeakTempFiles, files.Count);
        PeakTempBytes = Math.Max(PeakTempBytes, files.Sum(f => f.Exists ? f.Length : 0));
    }

    public static List<FileInfo> TempFiles(string dir)
    {
        var list = new List<FileInfo>();
        foreach (var path in Directory.EnumerateFiles(dir, "ASPNETCORE_*"))
        {
            var file = new FileInfo(path);
            // A file deleted between the listing and the look counts as gone.
            if (file.Exists)
            {
                list.Add(file);
            }
        }
        return list;
    }
}

internal static class Proc
{
    /// <summary>A kB field of /proc/&lt;pid&gt;/status (VmRSS, VmHWM).</summary>
    public static long Kb(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
