using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Otchatsa.FakeTelegram;

/// <summary>How an injected fault looks to the client.</summary>
public enum TelegramFaultKind
{
    /// <summary>An error status with the Bot API's JSON error body.</summary>
    Status,

    /// <summary>The TCP connection is reset without an answer.</summary>
    Reset,

    /// <summary>No answer until the client gives up.</summary>
    Hang,
}

/// <summary>One injected fault; with <paramref name="AfterCreate"/> the message is created first and only the answer is lost.</summary>
public sealed record TelegramFault(TelegramFaultKind Kind, int Status = 502, int? RetryAfter = null, bool AfterCreate = false);

/// <summary>One request the bot made: method, text fields (JSON or multipart) and uploaded file parts.</summary>
public sealed record RecordedCall(
    string Method,
    IReadOnlyDictionary<string, string> Fields,
    IReadOnlyDictionary<string, byte[]> Files,
    int Status,
    long Ticks)
{
    public long ChatId => Fields.TryGetValue("chat_id", out var id) ? long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) : 0;

    public string Text => Fields.GetValueOrDefault("text") ?? Fields.GetValueOrDefault("caption") ?? "";

    public bool Ok => Status == 200;

    public JsonNode? Json(string field) => Fields.TryGetValue(field, out var raw) ? JsonNode.Parse(raw) : null;
}

/// <summary>
/// A loopback Bot API on real Kestrel (127.0.0.1, random port) for the real Telegram.Bot client: routes
/// <c>/bot{token}/{method}</c> and <c>/file/bot{token}/{path}</c>, serves queued updates through long polling
/// (honouring and recording offsets), records every call, and injects faults (error status, retry_after, hangs).
/// </summary>
public sealed class FakeTelegramApi : IAsyncDisposable
{
    public const string Token = "123456:TEST-token_abc";
    public const long BotId = 123456;
    public const string BotUsername = "otchatsa_test_bot";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<Update> _updates = [];
    private readonly List<RecordedCall> _calls = [];
    private readonly List<long?> _offsets = [];
    private readonly ConcurrentDictionary<string, byte[]> _files = new();
    private readonly ConcurrentDictionary<long, ChatType> _chatTypes = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<TelegramFault>> _faults = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private readonly ConcurrentDictionary<string, int> _holding = new();
    private TaskCompletionSource _holdingChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SemaphoreSlim _newUpdates = new(0);
    private int _nextUpdateId = 1000;
    private int _nextMessageId = 1;
    private long _confirmed;

    private FakeTelegramApi(WebApplication app)
    {
        _app = app;
    }

    public string BaseUrl { get; private set; } = "";

    public static async Task<FakeTelegramApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        var app = builder.Build();
        var fake = new FakeTelegramApi(app);
        app.MapPost("/bot{token}/{method}", fake.HandleAsync);
        app.MapGet("/file/bot{token}/{**path}", fake.ServeFile);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = address.TrimEnd('/');
        return fake;
    }

    public IReadOnlyList<RecordedCall> Calls
    {
        get
        {
            lock (_lock)
            {
                return _calls.ToArray();
            }
        }
    }

    /// <summary>Offsets sent with each getUpdates, in order.</summary>
    public IReadOnlyList<long?> Offsets
    {
        get
        {
            lock (_lock)
            {
                return _offsets.ToArray();
            }
        }
    }

    /// <summary>Updates delivered but not yet confirmed by a later offset.</summary>
    public int Unconfirmed
    {
        get
        {
            lock (_lock)
            {
                return _updates.Count;
            }
        }
    }

    public IEnumerable<RecordedCall> Sent(long chatId) => Calls.Where(c => c.Ok && c.ChatId == chatId && c.Method.StartsWith("send", StringComparison.Ordinal) && c.Method != "sendChatAction");

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> fail with <paramref name="status"/>.</summary>
    public void FailNext(string method, int status, int? retryAfter = null, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            InjectFault(method, new TelegramFault(TelegramFaultKind.Status, status, retryAfter));
        }
    }

    /// <summary>The next call of <paramref name="method"/> fails as <paramref name="fault"/> says.</summary>
    public void InjectFault(string method, TelegramFault fault) =>
        _faults.GetOrAdd(method, _ => new ConcurrentQueue<TelegramFault>()).Enqueue(fault);

    /// <summary>When set, file downloads answer this status instead of the file (e.g. 404: Telegram no longer has it).</summary>
    public int? DownloadStatus { get; set; }

    /// <summary>Calls of <paramref name="method"/> hang until <see cref="Release"/> (or the client gives up).</summary>
    public void Hold(string method) => _gates[method] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Waits until no call of <paramref name="method"/> hangs at its hold any more (its client gave up): a worker that
    /// was killed may leave its call held until the server notices the closed connection, and a <see cref="Release"/>
    /// before that would let the dead worker's call through.
    /// </summary>
    public async Task WaitUntilNoneHeldAsync(string method, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource(limit);
        while (true)
        {
            var changed = Volatile.Read(ref _holdingChanged).Task;
            if (_holding.GetValueOrDefault(method) == 0)
            {
                return;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"A {method} call was still held after {limit.TotalSeconds:0.#} s.");
            }
        }
    }

    public void Release(string method)
    {
        if (_gates.TryRemove(method, out var gate))
        {
            gate.TrySetResult();
        }
    }

    public Update Enqueue(Message message)
    {
        _chatTypes[message.Chat.Id] = message.Chat.Type;
        Update update;
        lock (_lock)
        {
            update = new Update { Id = _nextUpdateId++, Message = message };
            _updates.Add(update);
        }
        _newUpdates.Release();
        return update;
    }

    /// <summary>Delivers an already confirmed update again, as Telegram may after a lost acknowledgement.</summary>
    public void Redeliver(Update update)
    {
        lock (_lock)
        {
            _updates.Add(update);
            _updates.Sort((a, b) => a.Id.CompareTo(b.Id));
            _confirmed = Math.Min(_confirmed, update.Id);
        }
        _newUpdates.Release();
    }

    public Message PhotoMessage(long chatId, long userId, byte[] photo, string? caption = null, ChatType chatType = ChatType.Private,
        Message? replyTo = null, long? declaredSize = null, string languageCode = "en") =>
        new()
        {
            Id = Interlocked.Increment(ref _nextMessageId),
            Date = DateTime.UtcNow,
            Chat = new Chat { Id = chatId, Type = chatType, Title = chatType == ChatType.Private ? null : "group" },
            From = new User { Id = userId, FirstName = "User" + userId, LanguageCode = languageCode },
            Caption = caption,
            CaptionEntities = EntitiesOf(caption),
            ReplyToMessage = replyTo,
            Photo =
            [
                new PhotoSize { FileId = AddFile(photo[..Math.Min(photo.Length, 64)]), FileUniqueId = "s" + _nextMessageId, Width = 90, Height = 90, FileSize = 64 },
                new PhotoSize { FileId = AddFile(photo), FileUniqueId = "l" + _nextMessageId, Width = 800, Height = 800, FileSize = declaredSize ?? photo.Length },
            ],
        };

    public Message DocumentMessage(long chatId, long userId, byte[] content, string mimeType, string fileName, ChatType chatType = ChatType.Private) =>
        new()
        {
            Id = Interlocked.Increment(ref _nextMessageId),
            Date = DateTime.UtcNow,
            Chat = new Chat { Id = chatId, Type = chatType },
            From = new User { Id = userId, FirstName = "User" + userId },
            Document = new Document { FileId = AddFile(content), FileUniqueId = "d" + _nextMessageId, FileName = fileName, MimeType = mimeType, FileSize = content.Length },
        };

    public Message TextMessage(long chatId, long userId, string text, ChatType chatType = ChatType.Private, Message? replyTo = null) =>
        new()
        {
            Id = Interlocked.Increment(ref _nextMessageId),
            Date = DateTime.UtcNow,
            Chat = new Chat { Id = chatId, Type = chatType },
            From = new User { Id = userId, FirstName = "User" + userId },
            Text = text,
            Entities = EntitiesOf(text),
            ReplyToMessage = replyTo,
        };

    // As the real server does: @mentions and a leading /command are marked as entities.
    private static MessageEntity[]? EntitiesOf(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var entities = System.Text.RegularExpressions.Regex.Matches(text, @"(?<=^|\s)@\w+")
            .Select(m => new MessageEntity { Type = MessageEntityType.Mention, Offset = m.Index, Length = m.Length })
            .ToList();
        var command = System.Text.RegularExpressions.Regex.Match(text, @"^/\w+(@\w+)?");
        if (command.Success)
        {
            entities.RemoveAll(e => e.Offset < command.Length);
            entities.Insert(0, new MessageEntity { Type = MessageEntityType.BotCommand, Offset = 0, Length = command.Length });
        }
        return entities.Count == 0 ? null : entities.ToArray();
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the recorded calls; fails the test after the timeout.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<RecordedCall>, bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (!condition(Calls))
        {
            try
            {
                await _callRecorded.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what ?? "a condition"}; calls: {string.Join(", ", Calls.Select(c => c.Method))}");
            }
        }
    }

    private readonly SemaphoreSlim _callRecorded = new(0);

    public async ValueTask DisposeAsync()
    {
        foreach (var gate in _gates.Values)
        {
            gate.TrySetResult();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _newUpdates.Dispose();
        _callRecorded.Dispose();
    }

    private string AddFile(byte[] bytes)
    {
        var id = "file" + Guid.NewGuid().ToString("N");
        _files[id] = bytes;
        return id;
    }

    private async Task HandleAsync(HttpContext http, string token, string method)
    {
        var (fields, files) = await ReadBodyAsync(http.Request);
        if (token != Token)
        {
            await Record(method, fields, files, 401);
            await Error(http, 401, "Unauthorized");
            return;
        }
        if (_gates.TryGetValue(method, out var gate))
        {
            _holding.AddOrUpdate(method, 1, (_, n) => n + 1);
            try
            {
                await gate.Task.WaitAsync(http.RequestAborted);
            }
            finally
            {
                _holding.AddOrUpdate(method, 0, (_, n) => n - 1);
                Interlocked.Exchange(ref _holdingChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
        var fault = _faults.TryGetValue(method, out var faults) && faults.TryDequeue(out var next) ? next : null;
        if (fault is { AfterCreate: false })
        {
            await FailAsync(http, method, fields, files, fault);
            return;
        }
        object? result = method switch
        {
            "getUpdates" => await GetUpdatesAsync(fields, http.RequestAborted),
            "getMe" => new User { Id = BotId, IsBot = true, FirstName = "Otchatsa", Username = BotUsername },
            "deleteWebhook" or "setMyCommands" or "sendChatAction" => true,
            "getFile" => GetFile(fields),
            "sendMessage" => NewMessage(fields, m => m.Text = fields.GetValueOrDefault("text")),
            "sendPhoto" => NewMessage(fields, m => m.Photo = [new PhotoSize { FileId = "out", FileUniqueId = "out", Width = 10, Height = 10 }]),
            "sendMediaGroup" => Enumerable.Range(0, JsonNode.Parse(fields["media"])!.AsArray().Count)
                .Select(_ => NewMessage(fields, m => m.Photo = [new PhotoSize { FileId = "out", FileUniqueId = "out", Width = 10, Height = 10 }]))
                .ToArray(),
            _ => null,
        };
        if (fault is not null)
        {
            // The work is done (the message exists, as far as the chat is concerned) but the answer is lost.
            if (result is not null)
            {
                await Record(method, fields, files, 200);
            }
            await FailAsync(http, method, fields, files, fault with { AfterCreate = false }, record: false);
            return;
        }
        if (result is null)
        {
            await Record(method, fields, files, 400);
            await Error(http, 400, $"Bad Request: method {method} not faked");
            return;
        }
        if (method != "getUpdates")
        {
            await Record(method, fields, files, 200);
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object> { ["ok"] = true, ["result"] = result }, JsonBotAPI.Options));
    }

    private async Task FailAsync(HttpContext http, string method, Dictionary<string, string> fields, Dictionary<string, byte[]> files,
        TelegramFault fault, bool record = true)
    {
        if (record)
        {
            await Record(method, fields, files, fault.Kind == TelegramFaultKind.Status ? fault.Status : 0);
        }
        switch (fault.Kind)
        {
            case TelegramFaultKind.Reset:
                http.Abort();
                return;
            case TelegramFaultKind.Hang:
                try
                {
                    await Task.Delay(Timeout.Infinite, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up.
                }
                return;
            default:
                await Error(http, fault.Status, fault.Status == 429 ? "Too Many Requests: retry later" : "Injected failure", fault.RetryAfter);
                return;
        }
    }

    private async Task<Update[]> GetUpdatesAsync(Dictionary<string, string> fields, CancellationToken aborted)
    {
        long? offset = fields.TryGetValue("offset", out var raw) ? long.Parse(raw, System.Globalization.CultureInfo.InvariantCulture) : null;
        var limit = fields.TryGetValue("limit", out var l) ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 100;
        lock (_lock)
        {
            _offsets.Add(offset);
            if (offset is { } o)
            {
                _confirmed = Math.Max(_confirmed, o);
                _updates.RemoveAll(u => u.Id < o);
            }
        }
        _callRecorded.Release();
        // Hold the poll up to ~1 s while nothing is queued (a short long-poll).
        for (var waited = 0; waited < 2; waited++)
        {
            lock (_lock)
            {
                if (_updates.Count > 0)
                {
                    return _updates.Take(limit).ToArray();
                }
            }
            try
            {
                await _newUpdates.WaitAsync(TimeSpan.FromMilliseconds(500), aborted);
            }
            catch (OperationCanceledException)
            {
                return [];
            }
        }
        return [];
    }

    private object? GetFile(Dictionary<string, string> fields)
    {
        var id = fields.GetValueOrDefault("file_id") ?? "";
        return _files.TryGetValue(id, out var bytes)
            ? new TGFile { FileId = id, FileUniqueId = id, FileSize = bytes.Length, FilePath = $"photos/{id}.jpg" }
            : null;
    }

    private async Task ServeFile(HttpContext http, string token, string path)
    {
        var id = Path.GetFileNameWithoutExtension(path);
        if (token != Token || !_files.TryGetValue(id, out var bytes) || DownloadStatus is not null)
        {
            var status = DownloadStatus ?? 404;
            await Record("download", new Dictionary<string, string> { ["path"] = path }, new Dictionary<string, byte[]>(), status);
            http.Response.StatusCode = status;
            return;
        }
        await Record("download", new Dictionary<string, string> { ["path"] = path }, new Dictionary<string, byte[]>(), 200);
        await http.Response.Body.WriteAsync(bytes);
    }

    private Message NewMessage(Dictionary<string, string> fields, Action<Message> fill)
    {
        var chatId = long.Parse(fields["chat_id"], System.Globalization.CultureInfo.InvariantCulture);
        var message = new Message
        {
            Id = Interlocked.Increment(ref _nextMessageId),
            Date = DateTime.UtcNow,
            Chat = new Chat { Id = chatId, Type = _chatTypes.GetValueOrDefault(chatId, ChatType.Private) },
            From = new User { Id = BotId, IsBot = true, FirstName = "Otchatsa", Username = BotUsername },
        };
        fill(message);
        return message;
    }

    private Task Record(string method, Dictionary<string, string> fields, Dictionary<string, byte[]> files, int status)
    {
        lock (_lock)
        {
            _calls.Add(new RecordedCall(method, fields, files, status, DateTime.UtcNow.Ticks));
        }
        _callRecorded.Release();
        return Task.CompletedTask;
    }

    private static async Task Error(HttpContext http, int status, string description, int? retryAfter = null)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var body = new JsonObject { ["ok"] = false, ["error_code"] = status, ["description"] = description };
        if (retryAfter is { } seconds)
        {
            body["parameters"] = new JsonObject { ["retry_after"] = seconds };
        }
        await http.Response.WriteAsync(body.ToJsonString());
    }

    private static async Task<(Dictionary<string, string> Fields, Dictionary<string, byte[]> Files)> ReadBodyAsync(HttpRequest request)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (key, value) in form)
            {
                fields[key] = value.ToString();
            }
            foreach (var file in form.Files)
            {
                using var buffer = new MemoryStream();
                await file.CopyToAsync(buffer);
                files[file.Name] = buffer.ToArray();
            }
            return (fields, files);
        }
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync();
        if (text.Length > 0 && JsonNode.Parse(text) is JsonObject json)
        {
            foreach (var (key, value) in json)
            {
                fields[key] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "null";
            }
        }
        return (fields, files);
    }
}
