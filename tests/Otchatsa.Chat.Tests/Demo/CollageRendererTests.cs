using Otchatsa.Imaging;
using Otchatsa.Rendering;
using SkiaSharp;

namespace Otchatsa.Tests.Demo;

public sealed class CollageRendererTests
{
    private static readonly SKColor[] Colors =
    [
        SKColors.Red, SKColors.Green, SKColors.Blue, SKColors.Orange, SKColors.Purple,
        SKColors.Teal, SKColors.Black, SKColors.Brown, SKColors.Magenta,
    ];

    private static byte[] SolidPng(int width, int height, SKColor color)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(color);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static void AssertClose(SKColor expected, SKColor actual, string where)
    {
        Assert.True(
            Math.Abs(expected.Red - actual.Red) <= 3 && Math.Abs(expected.Green - actual.Green) <= 3 && Math.Abs(expected.Blue - actual.Blue) <= 3,
            $"{where}: expected {expected}, got {actual}");
    }

    [Fact]
    public void Places_nine_tiles_row_major_with_aspect_fit_on_white()
    {
        var renderer = new CollageRenderer();
        // Mixed aspect ratios: tall, wide and square tiles must all land centred in their cell.
        var tiles = Colors.Select((c, i) => CollageTile.FromEncoded(
            SolidPng(i % 3 == 0 ? 90 : 300, i % 3 == 1 ? 60 : 200, c), $"demo-mall-{i} · Item #{i}")).ToList();

        var result = renderer.Render(tiles, "Military · 밀리터리");

        Assert.Equal("image/png", result.MediaType);
        Assert.Empty(result.PlaceholderTiles);
        using var png = SKBitmap.Decode(result.Bytes);
        Assert.Equal((result.Width, result.Height), (png.Width, png.Height));
        Assert.Equal(renderer.CanvasSize("Military · 밀리터리"), (result.Width, result.Height));
        Assert.True(result.Width + result.Height <= CollageRenderer.MaxWidthPlusHeight);
        Assert.True(result.Bytes.Length <= CollageRenderer.MaxBytes);

        for (int i = 0; i < 9; i++)
        {
            var rect = renderer.TileRect(i, "Military · 밀리터리");
            AssertClose(Colors[i], png.GetPixel(rect.MidX, rect.MidY), $"tile {i} centre");
        }

        // Tile 0 is 90×200 (tall): its cell's left edge is background, not image.
        var first = renderer.TileRect(0, "Military · 밀리터리");
        AssertClose(SKColors.White, png.GetPixel(first.Left + 5, first.MidY), "letterbox of the tall tile");
        // Tile 1 is 300×60 (wide): white above and below.
        var second = renderer.TileRect(1, "Military · 밀리터리");
        AssertClose(SKColors.White, png.GetPixel(second.MidX, second.Top + 5), "letterbox of the wide tile");
        AssertClose(Colors[1], png.GetPixel(second.Left + 2, second.MidY), "wide tile fills the width");
    }

    [Fact]
    public void Captions_render_when_a_font_exists_and_fewer_tiles_leave_cells_white()
    {
        var renderer = new CollageRenderer();
        using var bitmap = new SKBitmap(50, 50);
        bitmap.Erase(SKColors.Gray);
        var result = renderer.Render([CollageTile.FromBitmap(bitmap, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW")]);

        using var png = SKBitmap.Decode(result.Bytes);
        var last = renderer.TileRect(8);
        AssertClose(SKColors.White, png.GetPixel(last.MidX, last.MidY), "empty cell");
        if (result.CaptionsRendered)
        {
            var tile = renderer.TileRect(0);
            int dark = 0;
            for (int x = tile.Left; x < tile.Right; x++)
            {
                for (int y = tile.Bottom; y < tile.Bottom + renderer.Options.CaptionHeight; y++)
                {
                    dark += png.GetPixel(x, y).Red < 128 ? 1 : 0;
                }
            }

            Assert.True(dark > 100, $"caption strip should hold text, found {dark} dark pixels");
            // Ellipsised: nothing spills into the gap right of the tile.
            for (int y = tile.Bottom; y < tile.Bottom + renderer.Options.CaptionHeight; y++)
            {
                AssertClose(SKColors.White, png.GetPixel(tile.Right + renderer.Options.Gap / 2, y), "gap beside caption");
            }
        }
    }

    [Fact]
    public void Undecodable_and_empty_tiles_become_placeholders()
    {
        var result = new CollageRenderer().Render(
        [
            CollageTile.FromEncoded(new byte[] { 1, 2, 3, 4 }, "garbage"),
            CollageTile.FromEncoded(ReadOnlyMemory<byte>.Empty, "empty"),
            CollageTile.FromEncoded(SolidPng(10, 10, SKColors.Red), "한국어만"),
        ]);

        Assert.Equal([0, 1], result.PlaceholderTiles);
    }

    [Fact]
    public void Too_many_tiles_or_oversized_canvas_is_refused()
    {
        var tile = CollageTile.FromEncoded(SolidPng(4, 4, SKColors.Red));
        Assert.Throws<ArgumentException>(() => new CollageRenderer().Render(Enumerable.Repeat(tile, 10).ToList()));
        Assert.Throws<ArgumentException>(() => new CollageRenderer(new CollageOptions { TileSize = 2000 }).Render([tile]));
    }

    [Fact]
    public void Exif_rotated_jpeg_is_drawn_upright()
    {
        // A 40×20 JPEG (wide) stored with orientation 6 (RightTop) must appear tall: white left and right of it.
        byte[] jpeg = WithExifOrientation(SolidJpeg(40, 20, SKColors.Blue), 6);
        var renderer = new CollageRenderer();
        var result = renderer.Render([CollageTile.FromEncoded(jpeg)]);
        using var png = SKBitmap.Decode(result.Bytes);
        var rect = renderer.TileRect(0);
        AssertClose(SKColors.White, png.GetPixel(rect.Left + 10, rect.MidY), "side of the upright tile");
        Assert.True(png.GetPixel(rect.MidX, rect.Top + 10).Blue > 200, "top of the upright tile is image");
    }

    private static byte[] SolidJpeg(int width, int height, SKColor color)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(color);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }

    /// <summary>Inserts a minimal APP1/Exif segment (big-endian TIFF, one Orientation entry) after SOI.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, // Orientation SHORT
            0, 0, 0, 0, // no next IFD
        ];
        byte[] payload = [(byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0, .. tiff];
        int length = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }
}
