using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Otchatsa.Imaging;

namespace Otchatsa.Web;

/// <summary>A photo taken out of a multipart request, or the error code that explains why there is none.</summary>
internal sealed record Upload(string Name, byte[]? Bytes, string? ErrorCode, string? ErrorMessage, IFormCollection? Form);

/// <summary>Reads the photo of an upload under the size limit; never touches the file system.</summary>
internal static class Uploads
{
    /// <summary>Form fields that may carry the photo, in order of preference (file picker, camera, API).</summary>
    private static readonly string[] PhotoFields = ["photo", "camera", "image", "file"];

    public static async Task<Upload> ReadAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            return TooLarge(maxBytes);
        }
        // Kestrel enforces this while streaming, also for chunked bodies that announce no length.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }
        if (!request.HasFormContentType)
        {
            return new Upload("", null, ImageErrorCode.Empty.ToWire(),
                "Send the photo as multipart/form-data in the field 'photo'.", null);
        }
        context.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions
        {
            MultipartBodyLengthLimit = maxBytes,
            ValueCountLimit = 16,
            BufferBodyLengthLimit = maxBytes,
        }));
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(maxBytes);
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return TooLarge(maxBytes);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return new Upload("", null, ImageErrorCode.Corrupt.ToWire(), "The upload could not be read: it was cut off or malformed.", null);
        }

        var file = PhotoFields.Select(f => form.Files.GetFile(f)).FirstOrDefault(f => f is { Length: > 0 })
                   ?? form.Files.FirstOrDefault(f => f.Length > 0);
        if (file is null)
        {
            var name = form.Files.Count > 0 ? SafeName(form.Files[0].FileName) : "";
            return new Upload(name, null, ImageErrorCode.Empty.ToWire(),
                form.Files.Count > 0 ? "The file is empty." : "No photo in the request (multipart field 'photo').", form);
        }
        if (file.Length > maxBytes)
        {
            return TooLarge(maxBytes) with { Name = SafeName(file.FileName), Form = form };
        }
        var bytes = new byte[file.Length];
        using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        return new Upload(SafeName(file.FileName), bytes, null, null, form);
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

    private static Upload TooLarge(long maxBytes) => new("", null, ImageErrorCode.TooLarge.ToWire(),
        $"The request is larger than {maxBytes / (1024 * 1024)} MB.", null);
}
