using Otchatsa.Embeddings;



namespace Otchatsa.Tests.Features;

public sealed class EmbeddingCacheTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("otchatsa-cache-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void A_vector_put_in_one_instance_is_read_back_by_another()
    {
        var key = EmbeddingCache.ImageKey("photo"u8);
        new EmbeddingCache(_dir.FullName, "m1").Put("crop", key, [1f, 2f, 3f]);

        Assert.True(new EmbeddingCache(_dir.FullName, "m1").TryGet("crop", key, 3, out var vector));
        Assert.Equal([1f, 2f, 3f], vector);
    }

    [Fact]
    public void Other_models_views_and_images_do_not_share_entries()
    {
        var key = EmbeddingCache.ImageKey("photo"u8);
        new EmbeddingCache(_dir.FullName, "m1").Put("crop", key, [1f, 2f]);

        Assert.False(new EmbeddingCache(_dir.FullName, "m2").TryGet("crop", key, 2, out _));
        Assert.False(new EmbeddingCache(_dir.FullName, "m1").TryGet("whole", key, 2, out _));
        Assert.False(new EmbeddingCache(_dir.FullName, "m1").TryGet("crop", EmbeddingCache.ImageKey("other"u8), 2, out _));
    }

    [Fact]
    public void A_torn_last_record_is_ignored_and_earlier_ones_survive()
    {
        var cache = new EmbeddingCache(_dir.FullName, "m1");
        var first = EmbeddingCache.ImageKey("a"u8);
        cache.Put("crop", first, [1f, 2f]);
        cache.Put("crop", EmbeddingCache.ImageKey("b"u8), [3f, 4f]);
        var file = Directory.GetFiles(cache.Directory).Single();
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length - 3);
        }

        var reopened = new EmbeddingCache(_dir.FullName, "m1");
        Assert.True(reopened.TryGet("crop", first, 2, out _));
        Assert.False(reopened.TryGet("crop", EmbeddingCache.ImageKey("b"u8), 2, out _));
    }
}
