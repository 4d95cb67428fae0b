using System.Text.Json;
using System.Text.Json.Nodes;

namespace Otchatsa.FakeDiscord;

/// <summary>One gateway connection as the fake saw it.</summary>
public sealed class GatewayConnectionRecord
{
    private readonly List<JsonNode> _received = [];

    internal GatewayConnectionRecord(string path, string query, DateTimeOffset openedAt)
    {
        Path = path;
        Query = query;
        OpenedAt = openedAt;
    }

    /// <summary><c>/gateway</c> or <c>/resume</c>.</summary>
    public string Path { get; }

    /// <summary>The query string (<c>?v=10&amp;encoding=json</c>).</summary>
    public string Query { get; }

    public DateTimeOffset OpenedAt { get; }

    /// <summary>The close code the client sent, if it sent one.</summary>
    public int? ClientCloseCode { get; internal set; }

    /// <summary>The connection ended (either side).</summary>
    public bool Ended { get; internal set; }

    /// <summary>Frames received from the client, in order.</summary>
    public IReadOnlyList<JsonNode> Received
    {
        get { lock (_received) { return _received.ToArray(); } }
    }

    /// <summary>Received frames with the given op.</summary>
    public IReadOnlyList<JsonNode> Ops(int op) => Received.Where(f => (int?)f["op"] == op).ToArray();

    internal void Add(JsonNode frame)
    {
        lock (_received)
        {
            _received.Add(frame);
        }
    }
}

/// <summary>A REST request as the fake saw it.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">Path below <c>/api/v10/</c>.</param>
/// <param name="Authorization">The Authorization header.</param>
/// <param name="UserAgent">The User-Agent header.</param>
/// <param name="ContentType">The request content type.</param>
/// <param name="Json">The JSON body, or the <c>payload_json</c> part of a multipart body.</param>
/// <param name="Files">The <c>files[n]</c> parts.</param>
/// <param name="At">When it arrived.</param>
/// <param name="Status">What the fake answered.</param>
public sealed record RecordedRequest(
    string Method, string Path, string? Authorization, string? UserAgent, string? ContentType, JsonNode? Json,
    IReadOnlyList<RecordedFile> Files, DateTimeOffset At, int Status);

/// <summary>A file part of a multipart request.</summary>
/// <param name="Name">Form field name (<c>files[0]</c>).</param>
/// <param name="FileName">The part's file name.</param>
/// <param name="ContentType">The part's content type.</param>
/// <param name="Length">Bytes.</param>
public sealed record RecordedFile(string Name, string FileName, string ContentType, long Length);

/// <summary>A planned 429 for requests whose path contains <see cref="PathContains"/>.</summary>
/// <param name="PathContains">Matches request paths.</param>
/// <param name="RetryAfter">The wait Discord asks for.</param>
/// <param name="Global">Whether it is a global limit.</param>
/// <param name="BodyRetryAfter">Also put <c>retry_after</c> in the JSON body (Discord does).</param>
public sealed record RateLimitInjection(string PathContains, TimeSpan RetryAfter, bool Global = false, bool BodyRetryAfter = true);

/// <summary>Helpers to build gateway payloads in Discord's shape.</summary>
public static class FakeEvents
{
    private const long DiscordEpochMs = 1_420_070_400_000;
    private static long _lastId;

    /// <summary>
    /// The smallest snowflake made at <paramref name="time"/>: Discord puts the creation time in an id's top bits
    /// (milliseconds since 2015, shifted by 22), which is how a client reads an id's age.
    /// </summary>
    public static string SnowflakeAt(DateTimeOffset time) =>
        Snowflake(time).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static long Snowflake(DateTimeOffset time) => (time.ToUnixTimeMilliseconds() - DiscordEpochMs) << 22;

    /// <summary>
    /// A fresh snowflake made now (<see cref="SnowflakeAt"/>), so a client that reads an id's age (a replayed
    /// interaction's callback window) sees "just now". Increasing across calls, even within one millisecond.
    /// </summary>
    public static string NextId()
    {
        var timestamp = Snowflake(DateTimeOffset.UtcNow);
        long last, next;
        do
        {
            last = Volatile.Read(ref _lastId);
            next = Math.Max(last + 1, timestamp);
        }
        while (Interlocked.CompareExchange(ref _lastId, next, last) != last);
        return next.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A user object.</summary>
    public static JsonObject User(string id, string name, bool bot = false) => new()
    {
        ["id"] = id,
        ["username"] = name,
        ["global_name"] = null,
        ["bot"] = bot,
    };

    /// <summary>An attachment object.</summary>
    public static JsonObject Attachment(string id, string filename, string url, long size, string contentType = "image/jpeg") => new()
    {
        ["id"] = id,
        ["filename"] = filename,
        ["content_type"] = contentType,
        ["size"] = size,
        ["url"] = url,
        ["proxy_url"] = url,
        ["width"] = 64,
        ["height"] = 64,
    };

    /// <summary>A MESSAGE_CREATE payload.</summary>
    public static JsonObject Message(
        string channelId, string? guildId, JsonObject author, string content,
        IEnumerable<JsonObject>? mentions = null, IEnumerable<JsonObject>? attachments = null, string? id = null) => new()
    {
        ["id"] = id ?? NextId(),
        ["channel_id"] = channelId,
        ["guild_id"] = guildId,
        ["author"] = author.DeepClone(),
        ["content"] = content,
        ["mentions"] = new JsonArray((mentions ?? []).Select(m => (JsonNode)m.DeepClone()).ToArray()),
        ["attachments"] = new JsonArray((attachments ?? []).Select(a => (JsonNode)a.DeepClone()).ToArray()),
        ["type"] = 0,
    };

    /// <summary>An INTERACTION_CREATE payload for a slash command.</summary>
    public static JsonObject SlashCommand(
        string applicationId, string name, JsonArray? options = null, JsonObject? resolved = null,
        string? guildId = "400000000000000001", string? interactionId = null, string? token = null) => new()
    {
        ["id"] = interactionId ?? NextId(),
        ["application_id"] = applicationId,
        ["type"] = 2,
        ["token"] = token ?? "itok-" + Guid.NewGuid().ToString("N"),
        ["guild_id"] = guildId,
        ["channel_id"] = "500000000000000001",
        ["member"] = new JsonObject { ["user"] = User("600000000000000001", "user") },
        ["data"] = new JsonObject
        {
            ["id"] = "700000000000000001",
            ["name"] = name,
            ["type"] = 1,
            ["options"] = options ?? [],
            ["resolved"] = resolved,
        },
    };

    /// <summary>An INTERACTION_CREATE payload for a message context-menu command on <paramref name="target"/>.</summary>
    public static JsonObject MessageCommand(string applicationId, string name, JsonObject target, string? token = null) => new()
    {
        ["id"] = NextId(),
        ["application_id"] = applicationId,
        ["type"] = 2,
        ["token"] = token ?? "itok-" + Guid.NewGuid().ToString("N"),
        ["guild_id"] = (string?)target["guild_id"],
        ["channel_id"] = (string?)target["channel_id"],
        ["member"] = new JsonObject { ["user"] = User("600000000000000001", "user") },
        ["data"] = new JsonObject
        {
            ["id"] = "700000000000000002",
            ["name"] = name,
            ["type"] = 3,
            ["target_id"] = (string?)target["id"],
            ["resolved"] = new JsonObject
            {
                ["messages"] = new JsonObject { [(string)target["id"]!] = target.DeepClone() },
            },
        },
    };

    /// <summary>Parses UTF-8 JSON.</summary>
    public static JsonNode? Parse(ReadOnlySpan<byte> utf8) => JsonNode.Parse(utf8);

    internal static string Serialize(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
}

/// <summary>How an injected REST fault looks to the client.</summary>
public enum RestFaultKind
{
    /// <summary>An error status (<see cref="RestFault.Status"/>) with a JSON body.</summary>
    Status,

    /// <summary>The TCP connection is reset without an answer.</summary>
    Reset,

    /// <summary>No answer until the client gives up (its timeout).</summary>
    Hang,
}

/// <summary>
/// The next REST request whose path contains <paramref name="PathContains"/> fails as <paramref name="Kind"/> says. With
/// <paramref name="AfterCreate"/> the fake first does the work (a message is created) and only then fails, like a
/// server whose answer is lost on the way back.
/// </summary>
public sealed record RestFault(string PathContains, RestFaultKind Kind, int Status = 502, bool AfterCreate = false);

/// <summary>A message the fake created (deduplicated POSTs with an enforced nonce create none).</summary>
/// <param name="Id">The message id.</param>
/// <param name="ChannelId">Its channel.</param>
/// <param name="ReferencedMessageId">The message it replies to, if any.</param>
/// <param name="Nonce">The nonce it was created with.</param>
/// <param name="Json">The request body that created it.</param>
public sealed record CreatedMessage(string Id, string ChannelId, string? ReferencedMessageId, string? Nonce, JsonNode? Json);
