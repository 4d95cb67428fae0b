using Otchatsa.Imaging;

namespace Otchatsa.Pipeline;

/// <summary>A photo path that could not be read; <see cref="Code"/> is the JSON error code.</summary>
public sealed class PhotoFileException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>Reads local photo files for the CLI, refusing oversized ones before reading them.</summary>
public static class PhotoFiles
{
    public static byte[] Read(string path, ImageLimits limits)
    {
        FileInfo info;
        try
        {
            info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new PhotoFileException("not_found", "The file does not exist.");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or PathTooLongException or NotSupportedException)
        {
            throw new PhotoFileException("not_found", "The path is not valid.");
        }
        if (info.Length > limits.MaxBytes)
        {
            throw new ImageRejectedException(ImageErrorCode.TooLarge,
                $"The photo is larger than {limits.MaxBytes / (1024 * 1024)} MB.");
        }
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PhotoFileException("unreadable", "The file could not be read.");
        }
    }
}
