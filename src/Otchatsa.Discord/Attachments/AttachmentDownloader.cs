using System.Net;
using Microsoft.Extensions.Logging;
using Otchatsa.Discord.Models;

namespace Otchatsa.Discord.Attachments;

/// <summary>Why an attachment was not downloaded.</summary>
public enum AttachmentRejection
{
    HostNotAllowed,
    TooLarge,
    NotAnImage,
    DownloadFailed,
}

/// <summary>An attachment the bot will not use; <see cref="Reason"/> picks the polite reply.</summary>
public sealed class AttachmentRejectedException(AttachmentRejection reason, string message) : Exception(message)
{
    /// <summary>Why it was refused.</summary>
    public AttachmentRejection Reason { get; } = reason;
}

/// <summary>
/// The host's decision on downloaded bytes: the media type of an image it accepts, or <see langword="null"/> to refuse
/// them. The library knows the protocol, not image formats; the worker supplies the engine's sniffer.
/// </summary>
public delegate string? AttachmentContentCheck(ReadOnlySpan<byte> content);

/// <summary>A downloaded image the host's <see cref="AttachmentContentCheck"/> accepted.</summary>
/// <param name="Content">The bytes.</param>
/// <param name="MediaType">What the check said the bytes are.</param>
/// <param name="FileName">The attachment's file name.</param>
public sealed record DownloadedImage(byte[] Content, string MediaType, string FileName);

/// <summary>
/// Downloads attachment images safely: only https from allow-listed hosts (plain http only for loopback test
/// servers), the size cap checked against the declared size, then Content-Length, then while reading; no
/// redirects followed (they could leave the allow-list) and no Authorization header (the token stays with the API).
/// </summary>
public sealed partial class AttachmentDownloader
{
    private readonly HttpClient _httpClient;
    private readonly DiscordClientOptions _options;
    private readonly AttachmentContentCheck _contentCheck;
    private readonly ILogger _logger;
    private readonly HashSet<string> _hosts;

    /// <summary>
    /// Creates the downloader; <paramref name="httpClient"/> must not follow redirects (see
    /// <see cref="CreateDefaultHandler"/>); <paramref name="contentCheck"/> decides which downloaded bytes are images.
    /// </summary>
    public AttachmentDownloader(
        HttpClient httpClient, DiscordClientOptions options, AttachmentContentCheck contentCheck, ILogger<AttachmentDownloader> logger)
    {
        _httpClient = httpClient;
        _options = options;
        _contentCheck = contentCheck;
        _logger = logger;
        _hosts = new HashSet<string>(options.AttachmentHosts.Select(h => h.Trim().ToLowerInvariant()), StringComparer.Ordinal);
    }

    /// <summary>A handler suitable for the downloader's HttpClient.</summary>
    public static HttpMessageHandler CreateDefaultHandler() => new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Whether <paramref name="url"/> may be fetched at all.</summary>
    public bool IsAllowed(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && _hosts.Contains(uri.IdnHost.ToLowerInvariant())
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
        && string.IsNullOrEmpty(uri.UserInfo);

    /// <summary>Downloads <paramref name="attachment"/> and has the host's check confirm that it is an image.</summary>
    /// <exception cref="AttachmentRejectedException">The attachment is not acceptable.</exception>
    public async Task<DownloadedImage> DownloadImageAsync(DiscordAttachment attachment, CancellationToken cancellationToken)
    {
        if (!IsAllowed(attachment.Url))
        {
            LogRejected(_logger, attachment.Id, AttachmentRejection.HostNotAllowed);
            throw new AttachmentRejectedException(AttachmentRejection.HostNotAllowed, "The attachment is not on Discord's CDN.");
        }

        var cap = _options.MaxAttachmentBytes;
        if (attachment.Size > cap)
        {
            LogRejected(_logger, attachment.Id, AttachmentRejection.TooLarge);
            throw new AttachmentRejectedException(AttachmentRejection.TooLarge, $"The attachment has {attachment.Size} bytes; the limit is {cap}.");
        }

        HttpResponseMessage response;
        try
        {
            response = await _httpClient.GetAsync(new Uri(attachment.Url), HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new AttachmentRejectedException(AttachmentRejection.DownloadFailed, $"Download failed: {ex.HttpRequestError}.");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new AttachmentRejectedException(AttachmentRejection.DownloadFailed, $"Download failed with HTTP {(int)response.StatusCode}.");
            }

            if (response.Content.Headers.ContentLength > cap)
            {
                throw new AttachmentRejectedException(AttachmentRejection.TooLarge, "The attachment is larger than the limit.");
            }

            var bytes = await ReadCappedAsync(response.Content, cap, cancellationToken).ConfigureAwait(false);
            var mediaType = _contentCheck(bytes);
            if (mediaType is null)
            {
                LogRejected(_logger, attachment.Id, AttachmentRejection.NotAnImage);
                throw new AttachmentRejectedException(AttachmentRejection.NotAnImage, "The attachment is not a JPEG, PNG, GIF or WebP image.");
            }

            return new DownloadedImage(bytes, mediaType, attachment.Filename);
        }
    }

    private static async Task<byte[]> ReadCappedAsync(HttpContent content, long cap, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var memory = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (memory.Length + read > cap)
                {
                    throw new AttachmentRejectedException(AttachmentRejection.TooLarge, "The attachment is larger than the limit.");
                }

                memory.Write(buffer, 0, read);
            }

            return memory.ToArray();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Discord attachment {AttachmentId} refused: {Reason}")]
    private static partial void LogRejected(ILogger logger, string attachmentId, AttachmentRejection reason);
}
