using Otchatsa.Catalog;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class IndexManifestTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly ModelFingerprint Embedding = new("embedding", "resnet18-imagenet", new string('a', 64));
    private static readonly ModelFingerprint Head = new("style_head", "kfashion-sample-v1", new string('b', 64));

    private static IndexManifest Built() => new()
    {
        Models = [Embedding, Head],
        EmbeddingView = "crop",
        Dims = 512,
        ItemCount = 1300,
        SkippedCount = 18,
        SkippedByReason = new Dictionary<string, int> { ["not_found"] = 18 },
        MallCount = 394,
        BuiltUtc = new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero),
        CatalogPath = "/data/manifest.csv",
        CatalogSha256 = new string('c', 64),
        Extra = new Dictionary<string, string> { ["note"] = "x" },
    };

    [Fact]
    public void The_manifest_round_trips_through_snake_case_json()
    {
        Built().Save(_dir.Path);

        var json = File.ReadAllText(Path.Combine(_dir.Path, IndexManifest.FileName));
        var loaded = IndexManifest.Load(_dir.Path);

        Assert.Contains("\"format_version\": 1", json);
        Assert.Contains("\"embedding_view\": \"crop\"", json);
        Assert.Contains("\"catalog_sha256\"", json);
        Assert.Contains("\"not_found\": 18", json);
        Assert.Equal(Built().Models, loaded.Models);
        Assert.Equal((512, 1300, 18, 394), (loaded.Dims, loaded.ItemCount, loaded.SkippedCount, loaded.MallCount));
        Assert.Equal(Built().BuiltUtc, loaded.BuiltUtc);
        Assert.Equal(18, loaded.SkippedByReason["not_found"]);
        Assert.Equal("x", loaded.Extra["note"]);
    }

    [Fact]
    public void An_index_built_with_the_same_models_is_compatible()
    {
        Built().EnsureCompatible(new IndexManifest { Models = [Embedding], EmbeddingView = "crop", Dims = 512 });
    }

    [Fact]
    public void An_index_built_with_another_model_file_says_which_and_how_to_fix_it()
    {
        var expected = new IndexManifest { Models = [Embedding with { Sha256 = new string('f', 64) }, Head], EmbeddingView = "crop", Dims = 512 };

        var ex = Assert.Throws<IndexIncompatibleException>(() => Built().EnsureCompatible(expected));

        Assert.Contains("embedding model resnet18-imagenet (sha aaaaaaaaaaaa…), this build uses resnet18-imagenet (sha ffffffffffff…)", ex.Message);
        Assert.Contains("otchatsa index build", ex.Message);
        Assert.Single(ex.Problems);
    }

    [Fact]
    public void Every_mismatch_is_listed()
    {
        var expected = new IndexManifest { FormatVersion = 2, Models = [new("segmentation", "selfie", "00")], EmbeddingView = "whole", Dims = 1024 };

        var ex = Assert.Throws<IndexIncompatibleException>(() => Built().EnsureCompatible(expected));

        Assert.Equal(4, ex.Problems.Count);
    }

    [Fact]
    public void A_directory_without_index_json_is_not_an_index()
    {
        var ex = Assert.Throws<IndexIncompatibleException>(() => IndexManifest.Load(_dir.Path));

        Assert.Contains("not an Otchatsa index", ex.Message);
    }

    [Fact]
    public void An_unreadable_index_json_asks_for_a_rebuild()
    {
        File.WriteAllText(Path.Combine(_dir.Path, IndexManifest.FileName), "{ not json");

        var ex = Assert.Throws<IndexIncompatibleException>(() => IndexManifest.Load(_dir.Path));

        Assert.Contains("rebuild", ex.Message);
    }

    [Fact]
    public void File_fingerprints_are_lower_case_sha256()
    {
        var path = Path.Combine(_dir.Path, "model.onnx");
        File.WriteAllText(path, "abc");

        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ModelFingerprint.FromFile("embedding", "m", path).Sha256);
    }
}
