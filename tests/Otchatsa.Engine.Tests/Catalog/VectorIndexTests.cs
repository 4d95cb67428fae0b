using Otchatsa.Catalog;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class VectorIndexTests : IDisposable
{
    private const int Dims = 8;
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static float[] Unit(int axis, float tilt = 0, int tiltAxis = 1)
    {
        var v = new float[Dims];
        v[axis] = 1;
        v[tiltAxis] += tilt;
        return v;
    }

    private static VectorIndex Sample()
    {
        var index = new VectorIndex(Dims);
        index.Add(10, Unit(0));                  // the query direction itself
        index.Add(11, Unit(0, 0.3f));            // close
        index.Add(12, Unit(0, 1.0f));            // 45 degrees
        index.Add(13, Unit(2));                  // orthogonal
        index.Add(14, Unit(0, -5f));             // nearly along axis 1, slightly towards axis 0
        return index;
    }

    [Fact]
    public void Search_returns_the_nearest_vectors_most_similar_first_with_cosine_similarities()
    {
        using var index = Sample();

        var hits = index.Search(Unit(0), 3);

        Assert.Equal([10UL, 11UL, 12UL], hits.Select(h => h.Key));
        Assert.Equal(1f, hits[0].Similarity, 5);
        Assert.Equal(1 / MathF.Sqrt(1.09f), hits[1].Similarity, 5);
        Assert.Equal(MathF.Sqrt(0.5f), hits[2].Similarity, 5);
    }

    [Fact]
    public void Vector_length_does_not_matter_only_direction()
    {
        using var index = Sample();

        var hits = index.Search(Unit(0).Select(x => x * 42).ToArray(), 1);

        Assert.Equal(10UL, hits[0].Key);
        Assert.Equal(1f, hits[0].Similarity, 5);
    }

    [Fact]
    public void Asking_for_more_hits_than_vectors_returns_them_all()
    {
        using var index = Sample();

        Assert.Equal(5, index.Search(Unit(0), 50).Count);
        Assert.Empty(new VectorIndex(Dims).Search(Unit(0), 3));
    }

    [Fact]
    public void Exact_search_within_a_subset_ranks_only_those_keys()
    {
        using var index = Sample();

        var hits = index.SearchWithin(Unit(0), [13, 12, 14, 999, 12], 2);

        Assert.Equal([12UL, 14UL], hits.Select(h => h.Key));
        Assert.Equal(index.Similarity(10, 12), hits[0].Similarity, 5);
    }

    [Fact]
    public void Exact_and_approximate_search_agree_on_a_small_index()
    {
        using var index = new VectorIndex(32);
        var random = new Random(7);
        float[] RandomVector() => Enumerable.Range(0, 32).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        for (ulong key = 1; key <= 500; key++)
            index.Add(key, RandomVector());
        var query = RandomVector();

        Assert.Equal(index.SearchExact(query, 5), index.Search(query, 5));
    }

    [Fact]
    public void Stored_vectors_come_back_normalised()
    {
        using var index = new VectorIndex(Dims);
        index.Add(1, Unit(0).Select(x => x * 3).ToArray());

        Assert.Equal(Unit(0), index.GetVector(1));
        Assert.Throws<KeyNotFoundException>(() => index.GetVector(2));
    }

    [Fact]
    public void Bad_vectors_and_duplicate_keys_are_refused()
    {
        using var index = Sample();

        Assert.Throws<ArgumentException>(() => index.Add(99, new float[Dims + 1]));
        Assert.Throws<ArgumentException>(() => index.Add(99, new float[Dims]));
        Assert.Throws<ArgumentException>(() => index.Add(99, Unit(0).Select(_ => float.NaN).ToArray()));
        Assert.Throws<ArgumentException>(() => index.Add(10, Unit(3)));
        Assert.Equal(5, index.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_saved_index_loads_with_the_same_keys_and_results(bool view)
    {
        using (var index = Sample())
            index.Save(_dir.Path);

        using var loaded = VectorIndex.Load(_dir.Path, view);

        Assert.Equal((5, Dims), (loaded.Count, loaded.Dimensions));
        Assert.Equal([10UL, 11UL, 12UL, 13UL, 14UL], loaded.Keys);
        Assert.Equal([10UL, 11UL, 12UL], loaded.Search(Unit(0), 3).Select(h => h.Key));
        Assert.Equal([12UL, 14UL], loaded.SearchWithin(Unit(0), [12, 13, 14], 2).Select(h => h.Key));
    }

    [Fact]
    public void A_loaded_index_accepts_more_vectors_unless_it_is_a_view()
    {
        using (var index = Sample())
            index.Save(_dir.Path);

        using (var loaded = VectorIndex.Load(_dir.Path))
        {
            loaded.Add(20, Unit(5));
            Assert.Equal(20UL, loaded.Search(Unit(5), 1)[0].Key);
        }
        using var view = VectorIndex.Load(_dir.Path, view: true);
        Assert.Throws<InvalidOperationException>(() => view.Add(20, Unit(5)));
    }

    [Fact]
    public void Missing_or_corrupt_files_give_clear_errors()
    {
        Assert.Throws<FileNotFoundException>(() => VectorIndex.Load(_dir.Path));

        using (var index = Sample())
            index.Save(_dir.Path);
        var vectors = Path.Combine(_dir.Path, VectorIndex.VectorsFileName);
        File.WriteAllBytes(vectors, File.ReadAllBytes(vectors)[..^4]);
        Assert.Throws<VectorIndexException>(() => VectorIndex.Load(_dir.Path));

        File.WriteAllText(Path.Combine(_dir.Path, VectorIndex.GraphFileName), "garbage");
        Assert.Throws<VectorIndexException>(() => VectorIndex.Load(_dir.Path));
    }

    [Fact]
    public void Graph_and_vector_files_that_disagree_are_refused()
    {
        var other = Path.Combine(_dir.Path, "other");
        using (var index = Sample())
            index.Save(_dir.Path);
        using (var bigger = Sample())
        {
            bigger.Add(99, Unit(4));
            bigger.Save(other);
        }
        File.Copy(Path.Combine(other, VectorIndex.GraphFileName), Path.Combine(_dir.Path, VectorIndex.GraphFileName), overwrite: true);

        var ex = Assert.Throws<VectorIndexException>(() => VectorIndex.Load(_dir.Path));
        Assert.Contains("does not match", ex.Message);
    }

    [Fact]
    public void Concurrent_searches_and_adds_do_not_interfere()
    {
        using var index = new VectorIndex(16);
        var random = new Random(3);
        var vectors = Enumerable.Range(0, 2000)
            .Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        for (var i = 0; i < 1000; i++)
            index.Add((ulong)i, vectors[i]);

        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (i >= 1000)
                index.Add((ulong)i, vectors[i]);
            else
                Assert.Equal((ulong)i, index.Search(vectors[i], 1)[0].Key);
        });

        Assert.Equal(2000, index.Count);
    }
}
