namespace Otchatsa.Imaging;

/// <summary>Why a photo was refused. The wire names are part of the CLI/JSON contract.</summary>
public enum ImageErrorCode
{
    Empty,
    NotAnImage,
    UnsupportedFormat,
    TooLarge,
    Corrupt,
}

public static class ImageErrorCodeExtensions
{
    /// <summary>The snake_case code written to JSON (<c>not_an_image</c>, …).</summary>
    public static string ToWire(this ImageErrorCode code) => code switch
    {
        ImageErrorCode.Empty => "empty",
        ImageErrorCode.NotAnImage => "not_an_image",
        ImageErrorCode.UnsupportedFormat => "unsupported_format",
        ImageErrorCode.TooLarge => "too_large",
        ImageErrorCode.Corrupt => "corrupt",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };
}

/// <summary>A photo that cannot be analysed; <see cref="Exception.Message"/> is safe to show to a user.</summary>
public sealed class ImageRejectedException(ImageErrorCode code, string message) : Exception(message)
{
    public ImageErrorCode Code { get; } = code;
}

/// <summary>Limits checked before a full decode.</summary>
public sealed record ImageLimits
{
    public static ImageLimits Default { get; } = new();

    public long MaxBytes { get; init; } = 20L * 1024 * 1024;
    public long MaxPixels { get; init; } = 40_000_000;
    public int MaxSide { get; init; } = 10_000;

    /// <summary>
    /// Longest side of the bitmap handed downstream; larger photos are downscaled while decoding so memory stays
    /// bounded. The original (EXIF-oriented) size is still reported, so boxes can be mapped back to it.
    /// </summary>
    public int MaxDecodeSide { get; init; } = 1600;
}
