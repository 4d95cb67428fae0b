using Otchatsa.Catalog;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class CatalogStoreTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string DbPath => _dir.File(CatalogStore.FileName);

    private static CatalogItem Item(string image, string? mall, string? style = null) => new()
    {
        Image = image,
        Mall = mall,
        Style = style,
        Title = "t " + image,
        Url = "https://m.example/p/" + image,
        Price = "10,000원",
        MallUrl = "https://m.example/",
        Product = mall + ":1",
        Garments = ["상의", "하의"],
        Width = 512,
        Height = 341,
    };

    [Fact]
    public void Items_thumbnails_malls_and_metadata_survive_closing_and_reopening()
    {
        byte[] thumb = [0xFF, 0xD8, 9, 9, 0xFF, 0xD9];
        long a, b, c;
        using (var store = CatalogStore.Create(DbPath))
        {
            using (var batch = store.BeginBatch())
            {
                a = store.AddItem(Item("images/a.jpg", "girlis", "로맨틱"), thumb);
                b = store.AddItem(Item("images/b.jpg", "girlis") with { PredictedStyle = "resort" });
                c = store.AddItem(Item("https://cdn.example/c.jpg", "other", "retro"));
                batch.Commit();
            }
            store.SetMallProfile(new MallRecord("girlis", "https://girlis.example", 2, new Dictionary<string, double> { ["romantic"] = 0.5, ["resort"] = 0.5 }));
            store.SetMallProfile(new MallRecord("other", null, 1, new Dictionary<string, double> { ["retro"] = 1.0 }));
            store.SetMeta("embedding", "resnet18");
        }

        using var reopened = CatalogStore.Open(DbPath);

        Assert.True(reopened.IsReadOnly);
        Assert.Equal(3, reopened.ItemCount);
        Assert.Equal([1L, 2L, 3L], new[] { a, b, c });
        var first = reopened.GetItem(a)!;
        Assert.Equal(Item("images/a.jpg", "girlis", "로맨틱") with { Id = a, Garments = first.Garments }, first);
        Assert.Equal(["상의", "하의"], first.Garments);
        Assert.Equal((ulong)a, first.VectorKey);
        Assert.Equal("resort", reopened.GetItem(b)!.EffectiveStyle);
        Assert.Equal(thumb, reopened.GetThumbnail(a));
        Assert.Null(reopened.GetThumbnail(b));
        Assert.Null(reopened.GetItem(999));
        Assert.Equal([a, b], reopened.ItemsOfMall("girlis").Select(i => i.Id));
        Assert.Equal([a, b, c], reopened.AllItems().Select(i => i.Id));
        Assert.Equal([c, a], reopened.GetItems([c, 999, a]).Select(i => i.Id));
        var malls = reopened.Malls();
        Assert.Equal(["girlis", "other"], malls.Select(m => m.Name));
        Assert.Equal(0.5, malls[0].StyleShares["romantic"]);
        Assert.Equal("https://girlis.example", reopened.GetMall("girlis")!.Url);
        Assert.Equal("resnet18", reopened.GetMeta("embedding"));
    }

    [Fact]
    public void A_batch_disposed_without_commit_leaves_nothing_behind()
    {
        using var store = CatalogStore.Create(DbPath);
        using (store.BeginBatch())
            store.AddItem(Item("a.jpg", "m"));

        Assert.Equal(0, store.ItemCount);
    }

    [Fact]
    public void The_catalog_is_a_single_file_with_no_wal_beside_it()
    {
        using (var store = CatalogStore.Create(DbPath))
            store.AddItem(Item("a.jpg", "m"));

        Assert.Equal([CatalogStore.FileName], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Creating_over_an_existing_catalog_is_refused()
    {
        CatalogStore.Create(DbPath).Dispose();

        Assert.Throws<IOException>(() => CatalogStore.Create(DbPath));
    }

    [Fact]
    public void A_read_only_store_refuses_writes()
    {
        CatalogStore.Create(DbPath).Dispose();
        using var store = CatalogStore.Open(DbPath);

        Assert.Throws<InvalidOperationException>(() => store.AddItem(Item("a.jpg", "m")));
    }

    [Fact]
    public void A_file_that_is_not_a_catalog_is_reported_as_such()
    {
        File.WriteAllText(DbPath, "not sqlite at all, just text that is long enough to be a header......................");

        Assert.Throws<InvalidDataException>(() => CatalogStore.Open(DbPath));
    }

    [Fact]
    public void Predicted_styles_can_be_set_after_insertion()
    {
        using var store = CatalogStore.Create(DbPath);
        var id = store.AddItem(Item("a.jpg", "m"));

        store.SetPredictedStyle(id, "romantic");

        Assert.Equal("romantic", store.GetItem(id)!.PredictedStyle);
        Assert.Throws<KeyNotFoundException>(() => store.SetPredictedStyle(id + 100, "x"));
    }

    [Fact]
    public void Concurrent_readers_see_consistent_items()
    {
        using (var writer = CatalogStore.Create(DbPath))
        {
            using var batch = writer.BeginBatch();
            for (var i = 0; i < 200; i++)
                writer.AddItem(Item($"{i}.jpg", $"mall{i % 10}"), [(byte)i]);
            batch.Commit();
        }
        using var store = CatalogStore.Open(DbPath);

        Parallel.For(1, 201, new ParallelOptions { MaxDegreeOfParallelism = 8 }, id =>
        {
            Assert.Equal($"{id - 1}.jpg", store.GetItem(id)!.Image);
            Assert.Equal([(byte)(id - 1)], store.GetThumbnail(id)!);
            Assert.Equal(20, store.ItemsOfMall($"mall{(id - 1) % 10}").Count);
        });
    }
}
