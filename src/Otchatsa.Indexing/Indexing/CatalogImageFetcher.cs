using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Otchatsa.Indexing;

/// <summary>
/// Gets the bytes of a catalog row's image: a local file or an http(s) download. Thread-safe; share one instance
/// for a whole index build (it owns a pooled <see cref="HttpClient"/>).
/// </summary>
/// <remarks>
/// <para>Failures are returned as <see cref="FetchResult"/> values, never thrown; only cancellation through the
/// caller's token throws (<see cref="OperationCanceledException"/>).</para>
/// <para>Remote fetches: per-attempt timeout, size cap checked against Content-Length and again while streaming,
/// retries with exponential back-off and jitter for 5xx / 408 / 429 (honouring Retry-After), timeouts and connection
/// errors; 4xx are final. Addresses are checked at connect time (<see cref="SocketsHttpHandler.ConnectCallback"/>),
/// after DNS resolution and for every redirect hop, so a host that resolves to a private address (DNS rebinding, a
/// redirect to 169.254.169.254, …) is refused unless <see cref="CatalogFetchOptions.AllowPrivateNetworks"/> is set.
/// System proxies are not used: through a proxy that check would see only the proxy's address.</para>
/// </remarks>
public sealed class CatalogImageFetcher : IDisposable
{
    private readonly CatalogFetchOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<Attempt> _pipeline;
    private readonly TimeProvider _time;

    /// <param name="options">Limits, timeouts and retries (default <see cref="CatalogFetchOptions.Default"/>).</param>
    /// <param name="logger">Retry log.</param>
    /// <param name="timeProvider">Clock of the per-attempt timeouts, retry delays and Retry-After dates (default: system).</param>
    public CatalogImageFetcher(CatalogFetchOptions? options = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? CatalogFetchOptions.Default;
        _time = timeProvider ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(_options.MaxRetries);
        _logger = logger ?? NullLogger.Instance;

        var allowPrivate = _options.AllowPrivateNetworks;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = _options.RequestTimeout,
            ConnectCallback = (context, ct) => ConnectAsync(context, allowPrivate, ct),
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("image/*"));
        _pipeline = BuildPipeline();
    }

    /// <summary>Fetches the image of <paramref name="row"/> (local file or URL).</summary>
    public Task<FetchResult> FetchAsync(CatalogRow row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Rejection is not null)
            return Task.FromResult(FetchResult.Fail(FetchFailure.InvalidUrl, row.Rejection));
        if (row.Url is not null)
            return FetchAsync(row.Url, cancellationToken);
        if (row.ResolvedPath is not null)
            return ReadLocalAsync(row.ResolvedPath, cancellationToken);
        return Task.FromResult(FetchResult.Fail(FetchFailure.InvalidUrl, $"row {row.RowNumber} has no image"));
    }

    /// <summary>Downloads <paramref name="url"/> with the limits, address policy and retries described on the class.</summary>
    public async Task<FetchResult> FetchAsync(Uri url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https"))
            return FetchResult.Fail(FetchFailure.InvalidUrl, $"only http and https URLs are fetched: {url}");

        var attempts = 0;
        var outcome = await _pipeline.ExecuteAsync(async ct =>
        {
            attempts++;
            return await AttemptAsync(url, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        return outcome.Bytes is not null
            ? FetchResult.Success(outcome.Bytes, attempts, outcome.Status)
            : FetchResult.Fail(outcome.Failure!.Value, outcome.Message!, attempts, outcome.Status);
    }

    private async Task<FetchResult> ReadLocalAsync(string path, CancellationToken ct)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return Directory.Exists(path)
                ? FetchResult.Fail(FetchFailure.ReadError, $"{path} is a directory, not an image file")
                : FetchResult.Fail(FetchFailure.NotFound, $"file not found: {path}");
        }
        // stat() reports size 0 for FIFOs, character and block devices and sockets: opening a FIFO would block until a
        // writer appears (forever, in an index build), and a device would stream without end. Only regular files with
        // content are read (an empty file could not be an image anyway).
        if (info.Length == 0)
            return FetchResult.Fail(FetchFailure.ReadError, $"{path} is empty or not a regular file (a FIFO, device or socket); only regular image files are read");
        // Checked before opening so that a huge file is never read at all.
        if (info.Length > _options.MaxBytes)
            return FetchResult.Fail(FetchFailure.TooLarge, $"{path} is {info.Length:N0} bytes (limit {_options.MaxBytes:N0})");

        try
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
            // The file may have grown since the FileInfo check (or be a device); the cap applies while reading too.
            var bytes = await ReadCappedAsync(stream, _options.MaxBytes, info.Length, ct).ConfigureAwait(false);
            return bytes is null
                ? FetchResult.Fail(FetchFailure.TooLarge, $"{path} exceeds {_options.MaxBytes:N0} bytes")
                : FetchResult.Success(bytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return FetchResult.Fail(FetchFailure.ReadError, $"cannot read {path}: {ex.Message}");
        }
    }

    private async Task<Attempt> AttemptAsync(Uri url, CancellationToken callerToken)
    {
        using var timer = new CancellationTokenSource(_options.RequestTimeout, _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(callerToken, timer.Token);
        var ct = timeout.Token;
        int? status = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            status = (int)response.StatusCode;

            if (!response.IsSuccessStatusCode)
            {
                var transient = status >= 500 || status is 408 or 429;
                var failure = status is 404 or 410 ? FetchFailure.NotFound : FetchFailure.HttpError;
                return Attempt.Fail(failure, $"HTTP {status} {response.ReasonPhrase} for {url}", status, transient, RetryAfterOf(response));
            }

            var declared = response.Content.Headers.ContentLength;
            if (declared > _options.MaxBytes)
            {
                return Attempt.Fail(FetchFailure.TooLarge,
                    $"{url} declares {declared:N0} bytes (limit {_options.MaxBytes:N0})", status, transient: false);
            }

            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var bytes = await ReadCappedAsync(body, _options.MaxBytes, declared, ct).ConfigureAwait(false);
            return bytes is null
                ? Attempt.Fail(FetchFailure.TooLarge, $"{url} sent more than {_options.MaxBytes:N0} bytes", status, transient: false)
                : new Attempt(bytes, null, null, status, false, null);
        }
        catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
        {
            return Attempt.Fail(FetchFailure.Timeout,
                $"no complete answer from {url} within {_options.RequestTimeout.TotalSeconds:0.#} s", status, transient: true);
        }
        catch (HttpRequestException ex) when (FindInner<BlockedAddressException>(ex) is { } blocked)
        {
            return Attempt.Fail(FetchFailure.BlockedAddress, blocked.Message, status, transient: false);
        }
        catch (HttpRequestException ex)
        {
            // A misspelt host or a broken certificate will not heal within seconds; a reset connection might.
            var transient = ex.HttpRequestError is not (HttpRequestError.NameResolutionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ConfigurationLimitExceeded);
            return Attempt.Fail(FetchFailure.ConnectionFailed, $"{url}: {ex.Message}", status, transient);
        }
        catch (IOException ex)
        {
            return Attempt.Fail(FetchFailure.ConnectionFailed, $"{url}: connection lost while reading ({ex.Message})", status, transient: true);
        }
    }

    private ResiliencePipeline<Attempt> BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder<Attempt> { TimeProvider = _time };
        if (_options.MaxRetries == 0)
            return builder.Build();

        var maxDelay = _options.MaxRetryDelay;
        return builder.AddRetry(new RetryStrategyOptions<Attempt>
        {
            MaxRetryAttempts = _options.MaxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _options.RetryBaseDelay,
            MaxDelay = maxDelay,
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Result is { Transient: true } a && (a.RetryAfter is null || a.RetryAfter <= maxDelay)),
            DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
            OnRetry = args =>
            {
                _logger.LogDebug("Retrying catalog image fetch (attempt {Attempt}) in {Delay}: {Reason}",
                    args.AttemptNumber + 2, args.RetryDelay, args.Outcome.Result?.Message);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    private TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var delay = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        return delay is null ? null : delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }

    /// <summary>Reads the whole stream, or returns null as soon as more than <paramref name="max"/> bytes arrive.</summary>
    private static async Task<byte[]?> ReadCappedAsync(Stream stream, long max, long? expected, CancellationToken ct)
    {
        var initial = expected is > 0 and <= int.MaxValue ? (int)Math.Min(expected.Value, max) : 64 * 1024;
        using var buffer = new MemoryStream(initial);
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > max)
                    return null;
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        // Connect only to addresses that passed the check: resolving again later could give a different answer.
        var allowed = allowPrivate ? addresses : Array.FindAll(addresses, NetworkAddressPolicy.IsPublic);
        if (allowed.Length == 0)
            throw new BlockedAddressException(host, addresses);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static T? FindInner<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T match)
                return match;
        }
        return null;
    }

    public void Dispose() => _http.Dispose();

    private sealed record Attempt(byte[]? Bytes, FetchFailure? Failure, string? Message, int? Status, bool Transient, TimeSpan? RetryAfter)
    {
        public static Attempt Fail(FetchFailure failure, string message, int? status, bool transient, TimeSpan? retryAfter = null) =>
            new(null, failure, message, status, transient, retryAfter);
    }

    private sealed class BlockedAddressException(string host, IPAddress[] addresses)
        : Exception(addresses.Length == 0
            ? $"host '{host}' did not resolve to any address"
            : $"host '{host}' resolves only to non-public addresses ({string.Join(", ", addresses.Take(4))}); " +
              $"to index your own intranet, pass --allow-private-networks to 'otchatsa index build' (or set {CatalogFetchOptions.AllowPrivateNetworksVariable}=1)");
}
