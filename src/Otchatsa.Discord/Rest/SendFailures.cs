using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Polly.Timeout;

namespace Otchatsa.Discord.Rest;

/// <summary>
/// What a failed HTTP call tells about its effect, shared by the Discord and Telegram retry pipelines: only a failure
/// that proves the request never reached the server may be retried for a non-idempotent send.
/// </summary>
public static class SendFailures
{
    /// <summary>
    /// True when the request provably did not reach the server: the connection could not be established (refused,
    /// unresolvable host, TLS handshake failed). A reset, a timeout or a 5xx after the request was written proves
    /// nothing — the server may have acted on it.
    /// </summary>
    public static bool ProvesNotSent(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError })
            {
                return true;
            }
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable or SocketError.NetworkUnreachable })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A transport failure or per-attempt timeout (not a caller's cancellation): worth retrying when the call is idempotent.</summary>
    public static bool IsTransport(Exception exception) =>
        exception is HttpRequestException or IOException or TimeoutRejectedException
        || (exception is TaskCanceledException { InnerException: TimeoutException });

    /// <summary>A short reason tag for logs and the retries counter.</summary>
    public static string Reason(Exception exception) => exception switch
    {
        DiscordRestException { StatusCode: 429 } => "rate_limited",
        DiscordRestException rest => "http_" + rest.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
        TimeoutRejectedException => "timeout",
        _ when ProvesNotSent(exception) => "not_connected",
        _ => "transport",
    };
}

/// <summary>The retries counter of the chat clients (exported as <c>otchatsa_send_retries_total</c>).</summary>
public static class RetryMetrics
{
    /// <summary>Name of the meter every Otchatsa instrument belongs to.</summary>
    public const string MeterName = "Otchatsa";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "otchatsa.send.retries", "{retry}", "Requests to a chat network sent again after a failure, by network, operation and reason.");

    /// <summary>Counts one retry.</summary>
    public static void Record(string network, string operation, string reason) =>
        Retries.Add(1, new KeyValuePair<string, object?>("network", network), new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("reason", reason));
}
