namespace Otchatsa.Indexing;

/// <summary>Why a catalog image could not be fetched. Reported per row in the index build summary.</summary>
public enum FetchFailure
{
    /// <summary>The row has no usable image reference (bad scheme, bad URL, empty cell).</summary>
    InvalidUrl,
    /// <summary>Local file missing, or HTTP 404 / 410.</summary>
    NotFound,
    /// <summary>Bigger than <see cref="CatalogFetchOptions.MaxBytes"/>.</summary>
    TooLarge,
    /// <summary>No complete answer within <see cref="CatalogFetchOptions.RequestTimeout"/> on every attempt.</summary>
    Timeout,
    /// <summary>Any other HTTP error status (after retries for 5xx / 408 / 429).</summary>
    HttpError,
    /// <summary>The host resolves only to loopback / private / link-local addresses and those are not allowed.</summary>
    BlockedAddress,
    /// <summary>DNS failure, refused or reset connection, TLS failure (after retries).</summary>
    ConnectionFailed,
    /// <summary>A local file that exists but cannot be read (permissions, I/O error, a directory).</summary>
    ReadError,
}

/// <summary>
/// The outcome of <c>CatalogImageFetcher.FetchAsync</c>: either <see cref="Bytes"/> or a
/// <see cref="Failure"/> with a human-readable <see cref="Message"/>. Fetch problems are expected per row, so they
/// are values, not exceptions.
/// </summary>
public sealed record FetchResult
{
    /// <summary>The image file's bytes (undecoded); null on failure.</summary>
    public byte[]? Bytes { get; init; }

    public FetchFailure? Failure { get; init; }

    /// <summary>Why it failed (safe to print; contains the URL or path, never credentials of ours).</summary>
    public string? Message { get; init; }

    /// <summary>Last HTTP status seen, if any.</summary>
    public int? StatusCode { get; init; }

    /// <summary>HTTP attempts made (1 + retries); 0 for local files and invalid rows.</summary>
    public int Attempts { get; init; }

    public bool Ok => Bytes is not null;

    public static FetchResult Success(byte[] bytes, int attempts = 0, int? statusCode = null) =>
        new() { Bytes = bytes, Attempts = attempts, StatusCode = statusCode };

    public static FetchResult Fail(FetchFailure failure, string message, int attempts = 0, int? statusCode = null) =>
        new() { Failure = failure, Message = message, Attempts = attempts, StatusCode = statusCode };
}
