using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Otchatsa.Imaging;

namespace Otchatsa.Web;

/// <summary>
/// A photo taken out of a multipart request, or the error code that explains why there is none. Owns the buffer the
/// photo lives in (lent by <see cref="AnalysisGate"/>): dispose it when the request is answered.
/// </summary>
internal sealed class Upload : IDisposable
{
    private UploadBuffers? _pool;
    private byte[]? _buffer;

    private Upload(string name, string? errorCode, string? errorMessage, IFormCollection? form)
    {
        Name = name;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
        Form = form;
    }

    /// <summary>The client's file name, reduced by <see cref="Uploads.SafeName"/>; only ever echoed back.</summary>
    public string Name { get; private init; }

    /// <summary>The photo's bytes (empty when <see cref="ErrorCode"/> is set).</summary>
    public ReadOnlyMemory<byte> Photo { get; private init; }

    public string? ErrorCode { get; }

    public string? ErrorMessage { get; }

    /// <summary>The form's text fields (antiforgery reads its token from here), or null when the form was not read.</summary>
    public IFormCollection? Form { get; private init; }

    public static Upload Failed(string code, string message, string name = "", IFormCollection? form = null) =>
        new(name, code, message, form);

    public static Upload Of(string name, UploadBuffers pool, byte[] buffer, int offset, int length, IFormCollection form) =>
        new(name, null, null, form) { _pool = pool, _buffer = buffer, Photo = buffer.AsMemory(offset, length) };

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            _pool!.Return(buffer);
        }
    }
}

/// <summary>
/// Reads the photo of a multipart upload by streaming (<see cref="MultipartReader"/>), into one buffer of at most
/// <c>maxBytes</c>; never touches the file system. <see cref="Check"/> runs before the body is read.
/// </summary>
internal static class Uploads
{
    /// <summary>Form fields that may carry the photo, in order of preference (file picker, camera, API).</summary>
    private static readonly string[] PhotoFields = ["photo", "camera", "image", "file"];

    /// <summary>Parts (text fields and files) a form may have; the page's own form sends three.</summary>
    public const int MaxFormParts = 16;

    /// <summary>Longest text field (the antiforgery token is about 200 bytes).</summary>
    public const int MaxFieldBytes = 16 * 1024;

    /// <summary>
    /// What can be decided from the headers alone: a declared length over the limit (413), or a body that is not
    /// multipart/form-data. Null when the body may be read.
    /// </summary>
    public static Upload? Check(HttpRequest request, long maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes);
        }
        return Boundary(request) is null
            ? Upload.Failed(ImageErrorCode.Empty.ToWire(), "Send the photo as multipart/form-data in the field 'photo'.")
            : null;
    }

    /// <summary>
    /// Streams the form: text fields are kept (each ≤ <see cref="MaxFieldBytes"/>), files are copied into one buffer
    /// rented from <paramref name="pool"/>, and the body is counted while it streams (also when chunked), so no more than <paramref name="maxBytes"/> is ever
    /// read. The photo is the first non-empty file in a preferred field, else the first non-empty file.
    /// </summary>
    public static async Task<Upload> ReadAsync(HttpContext context, int maxBytes, UploadBuffers pool)
    {
        var request = context.Request;
        if (Check(request, maxBytes) is { } refused)
        {
            return refused;
        }
        // Kestrel also enforces this while streaming; the reader's own limit covers servers that do not.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }
        var reader = new MultipartReader(Boundary(request)!, request.Body) { BodyLengthLimit = maxBytes };
        var parts = new FormParts((int)Math.Min(request.ContentLength ?? maxBytes, maxBytes));
        var handedOver = false;
        try
        {
            if (await ReadPartsAsync(reader, parts, maxBytes, pool, context.RequestAborted).ConfigureAwait(false) is { } failed)
            {
                return failed;
            }

            var form = new FormCollection(parts.Fields);
            // Antiforgery (and anything else that asks) reads these fields instead of the already consumed body.
            context.Features.Set<IFormFeature>(new FormFeature(form));
            var files = parts.Files;
            var photo = ChoosePhoto(files);
            if (photo.Field is null)
            {
                return Upload.Failed(ImageErrorCode.Empty.ToWire(),
                    files.Count > 0 ? "The file is empty." : "No photo in the request (multipart field 'photo').",
                    files.Count > 0 ? files[0].Name : "", form);
            }
            handedOver = true;
            return Upload.Of(photo.Name, pool, parts.Buffer!, photo.Offset, photo.Length, form);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(maxBytes);
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
        {
            return TooLarge(maxBytes);
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            // Header count or length limits of a part: a malformed form, not a large one.
            return BadForm("A part of the form has too many or too long headers.");
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return Upload.Failed(ImageErrorCode.Corrupt.ToWire(), "The upload could not be read: it was cut off or malformed.");
        }
        finally
        {
            if (!handedOver && parts.Buffer is not null)
            {
                pool.Return(parts.Buffer);
            }
        }
    }

    /// <summary>
    /// What the form held so far: its text fields, and its files as slices of one buffer (rented on the first file,
    /// returned by <see cref="ReadAsync"/> unless it is handed to the <see cref="Upload"/>) of at most <see cref="Capacity"/> bytes.
    /// </summary>
    private sealed class FormParts(int capacity)
    {
        public int Capacity { get; } = capacity;
        public Dictionary<string, StringValues> Fields { get; } = new(StringComparer.OrdinalIgnoreCase);
        public List<(string Field, string Name, int Offset, int Length)> Files { get; } = [];
        public byte[]? Buffer { get; set; }
        public int Used { get; set; }
    }

    /// <summary>Reads every part of the form into <paramref name="parts"/>; a refusal (too many parts, a long field, too large) ends it.</summary>
    private static async Task<Upload?> ReadPartsAsync(
        MultipartReader reader, FormParts parts, int maxBytes, UploadBuffers pool, CancellationToken cancellationToken)
    {
        var count = 0;
        while (await reader.ReadNextSectionAsync(cancellationToken).ConfigureAwait(false) is { } section)
        {
            if (++count > MaxFormParts)
            {
                return BadForm($"The form has more than {MaxFormParts} parts; send the photo in the field 'photo' with at most a few other fields.");
            }
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
            {
                continue; // not a form field: skipped (the reader discards its bytes)
            }
            var field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
            if (!disposition.IsFileDisposition())
            {
                var value = await ReadFieldAsync(section.Body, cancellationToken).ConfigureAwait(false);
                if (value is null)
                {
                    return BadForm($"The form field '{SafeName(field)}' is longer than {MaxFieldBytes / 1024} KB.");
                }
                parts.Fields[field] = StringValues.Concat(parts.Fields.GetValueOrDefault(field), value);
                continue;
            }
            parts.Buffer ??= pool.Rent();
            var start = parts.Used;
            if (!await CopyFileAsync(section.Body, parts, cancellationToken).ConfigureAwait(false))
            {
                return TooLarge(maxBytes);
            }
            var name = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
            parts.Files.Add((field, SafeName(name), start, parts.Used - start));
        }
        return null;
    }

    /// <summary>Appends a file part to the buffer; false when it does not fit (one more byte than the capacity allows).</summary>
    private static async Task<bool> CopyFileAsync(Stream body, FormParts parts, CancellationToken cancellationToken)
    {
        var buffer = parts.Buffer!;
        var capacity = parts.Capacity;
        var used = parts.Used;
        int n;
        while (used < capacity
               && (n = await body.ReadAsync(buffer.AsMemory(used, capacity - used), cancellationToken).ConfigureAwait(false)) > 0)
        {
            used += n;
        }
        parts.Used = used;
        // Full: one more byte in this part is over the limit.
        return !(used == capacity && await body.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) > 0);
    }

    /// <summary>The first non-empty file in a preferred field, else the first non-empty file (Field is null when there is none).</summary>
    private static (string Field, string Name, int Offset, int Length) ChoosePhoto(List<(string Field, string Name, int Offset, int Length)> files)
    {
        var photo = PhotoFields
            .Select(f => files.FirstOrDefault(x => x.Length > 0 && string.Equals(x.Field, f, StringComparison.OrdinalIgnoreCase)))
            .FirstOrDefault(x => x.Field is not null);
        if (photo.Field is null)
        {
            photo = files.FirstOrDefault(x => x.Length > 0);
        }
        return photo;
    }

    /// <summary>A text field's value, or null when it is longer than <see cref="MaxFieldBytes"/>.</summary>
    private static async Task<string?> ReadFieldAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = new byte[MaxFieldBytes + 1];
        var used = 0;
        int n;
        while (used < bytes.Length && (n = await body.ReadAsync(bytes.AsMemory(used), cancellationToken).ConfigureAwait(false)) > 0)
        {
            used += n;
        }
        return used > MaxFieldBytes ? null : Encoding.UTF8.GetString(bytes, 0, used);
    }

    /// <summary>The multipart boundary, or null when the request is not a multipart form with a sane boundary.</summary>
    private static string? Boundary(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        // RFC 2046: 1–70 characters.
        return boundary is { Length: > 0 and <= 70 } ? boundary : null;
    }

    /// <summary>The client's file name, only ever echoed back (encoded); reduced to its last segment and bounded.</summary>
    internal static string SafeName(string? fileName)
    {
        if (string.IsNullOrWhiteSpace(fileName))
        {
            return "photo";
        }
        var name = fileName[(fileName.LastIndexOfAny(['/', '\\']) + 1)..].Trim();
        name = new string(name.Where(c => !char.IsControl(c)).ToArray());
        if (name.Length > 120)
        {
            name = name[..120];
        }
        return name.Length == 0 ? "photo" : name;
    }

    internal static Upload TooLarge(long maxBytes) => Upload.Failed(ImageErrorCode.TooLarge.ToWire(),
        $"The request is larger than {maxBytes / (1024 * 1024)} MB.");

    private static Upload BadForm(string message) => Upload.Failed(WebErrorCodes.BadForm, message);
}
