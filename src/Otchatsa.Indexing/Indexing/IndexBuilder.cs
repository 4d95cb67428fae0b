using System.Diagnostics;
using System.Threading.Channels;
using Otchatsa.Catalog;
using Otchatsa.Imaging;
using Otchatsa.Pipeline;
using Otchatsa.Recommending;
using Otchatsa.Styles;
using SkiaSharp;

namespace Otchatsa.Indexing;

/// <summary>Progress of an index build, reported after every catalog row.</summary>
public sealed record IndexBuildProgress(int Done, int Total, int Indexed, int Skipped);

/// <summary>What an index build did; <see cref="SkippedByReason"/> says why rows were left out.</summary>
public sealed record IndexBuildSummary(
    string Directory,
    int Rows,
    int Indexed,
    int Skipped,
    IReadOnlyDictionary<string, int> SkippedByReason,
    IReadOnlyList<string> SkipExamples,
    int Malls,
    int PredictedStyles,
    TimeSpan Elapsed)
{
    /// <summary>Where the build's time went (null when nothing was analysed).</summary>
    public IndexBuildTimings? Timings { get; init; }
}

/// <summary>
/// Time per stage of a build, summed over photos: <see cref="PrepareMs"/> on the preparing thread (decode, person,
/// views and mirrors, thumbnail), <see cref="NetworkMs"/> in batched network runs, and how long the network side
/// waited for prepared photos (<see cref="NetworkWaitMs"/>: high means preparation is the bottleneck).
/// </summary>
public sealed record IndexBuildTimings(int Photos, int Batches, double PrepareMs, double NetworkMs, double NetworkWaitMs)
{
    public override string ToString() =>
        $"prepare {PrepareMs / Math.Max(1, Photos):F1} ms/photo (decode + person + views + thumbnail, one thread), " +
        $"network {NetworkMs / Math.Max(1, Photos):F1} ms/photo ({Batches} batches), network waited {NetworkWaitMs / 1000:F1} s for photos";
}

/// <summary>
/// Builds an index folder from a catalog manifest: fetch → decode → person → embedding → SQLite row + thumbnail +
/// HNSW vector; then styles are predicted for unlabelled rows and mall profiles written. The folder is built beside
/// the target and swapped in only when complete, so a half-built index never replaces a good one.
/// Three stages overlap through bounded channels: fetching, preparing (decode, person, views, thumbnail: one thread)
/// and the network (batches of <see cref="BatchPhotos"/> photos, every input of them in one run, on ONNX Runtime's
/// threads). At most a few photos are in flight between stages, so memory stays near a one-photo pipeline's.
/// </summary>
public sealed class IndexBuilder(OutfitEngine engine, CatalogFetchOptions? fetchOptions = null)
{
    public const int ThumbnailSide = 256;

    /// <summary>
    /// A build that indexes no photo, or fewer than this share of the catalog's rows, is refused
    /// (<see cref="IndexBuildRefusedException"/>) and the old index stays: a catalog whose photos mostly fail to load
    /// (a moved folder, a dead host) must not replace a good index with a worse one.
    /// </summary>
    public const double MinIndexedShare = 0.5;

    /// <summary>Photos per network run (× <see cref="OutfitEngine.InputsPerPhoto"/> inputs). Chosen by `otchatsa bench` (README, Speed).</summary>
    public int BatchPhotos { get; init; } = 2;

    public async Task<IndexBuildSummary> BuildAsync(
        string catalogCsv,
        string outDirectory,
        Func<ICatalogView, IStyleClassifier>? classifierFactory = null,
        IProgress<IndexBuildProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var build = new BuildState(CatalogManifest.Read(catalogCsv), progress);
        IndexBuildSummary? summary = null;
        await AtomicDirectory.BuildAsync(outDirectory, async (work, ct) =>
        {
            using var store = CatalogStore.Create(Path.Combine(work, CatalogStore.FileName));
            await IndexPhotosAsync(build, store, ct).ConfigureAwait(false);
            RefuseIfTooFew(build, outDirectory, clock.Elapsed);
            var predicted = PredictStyles(store, build.Items, classifierFactory);
            using var index = CatalogIndex.InMemory(build.Items, engine.Settings.Dimensions);
            WriteMallProfiles(store, index);
            WriteVectors(work, build.Items);
            WriteManifest(work, catalogCsv, build, index.Malls.Count);
            summary = build.Summary(outDirectory, index.Malls.Count, predicted, TimeSpan.Zero);
        }, cancellationToken).ConfigureAwait(false);
        return summary! with { Elapsed = clock.Elapsed, Timings = build.Timings };
    }

    /// <summary>
    /// The three overlapping stages: fetching and preparing each on its own task, the network and the SQLite rows
    /// here; every photo that makes it through lands in <see cref="BuildState.Items"/> with its vector.
    /// </summary>
    private async Task IndexPhotosAsync(BuildState build, CatalogStore store, CancellationToken ct)
    {
        using var fetcher = new CatalogImageFetcher(fetchOptions);
        var fetched = Channel.CreateBounded<(CatalogRow Row, FetchResult Result)>(
            new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
        // Downloads overlap with inference; inference itself uses every core through ONNX Runtime.
        var producer = Task.Run(() => FetchAllAsync(build.Rows, fetcher, fetched.Writer, ct), ct);
        var prepared = Channel.CreateBounded<Prepared>(
            new BoundedChannelOptions(BatchPhotos + 1) { SingleReader = true, SingleWriter = true });
        var preparer = Task.Run(() => PrepareAllAsync(fetched.Reader, prepared.Writer, build, ct), ct);
        using (var batch = store.BeginBatch())
        {
            await EmbedAndStoreAsync(prepared.Reader, store, build, ct).ConfigureAwait(false);
            batch.Commit();
        }
        await preparer.ConfigureAwait(false);
        build.Timings = new IndexBuildTimings(build.Items.Count, build.Batches, build.PrepareMs, build.NetworkMs, build.WaitMs);
        await producer.ConfigureAwait(false);
    }

    private static async Task FetchAllAsync(
        IReadOnlyList<CatalogRow> rows, CatalogImageFetcher fetcher, ChannelWriter<(CatalogRow, FetchResult)> fetched, CancellationToken ct)
    {
        try
        {
            foreach (var row in rows)
            {
                var result = row.IsUsable
                    ? await fetcher.FetchAsync(row, ct).ConfigureAwait(false)
                    : FetchResult.Fail(FetchFailure.InvalidUrl, row.Rejection!);
                await fetched.WriteAsync((row, result), ct).ConfigureAwait(false);
            }
        }
        finally
        {
            fetched.Complete();
        }
    }

    private async Task PrepareAllAsync(
        ChannelReader<(CatalogRow Row, FetchResult Result)> fetched, ChannelWriter<Prepared> prepared, BuildState build, CancellationToken ct)
    {
        try
        {
            await foreach (var (row, result) in fetched.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var prepareClock = Stopwatch.StartNew();
                var item = Prepare(row, result);
                build.PrepareMs += prepareClock.Elapsed.TotalMilliseconds;
                await prepared.WriteAsync(item, ct).ConfigureAwait(false);
            }
        }
        finally
        {
            prepared.Complete();
        }
    }

    /// <summary>Collects prepared photos into batches of <see cref="BatchPhotos"/>; a skipped photo is counted, not batched.</summary>
    private async Task EmbedAndStoreAsync(ChannelReader<Prepared> reader, CatalogStore store, BuildState build, CancellationToken ct)
    {
        var pending = new List<Prepared>(BatchPhotos);
        while (true)
        {
            if (!reader.TryRead(out var next))
            {
                // Nothing ready: run what we have rather than let the network idle, then wait.
                Flush(pending, store, build);
                var wait = Stopwatch.StartNew();
                var more = await reader.WaitToReadAsync(ct).ConfigureAwait(false);
                build.WaitMs += wait.Elapsed.TotalMilliseconds;
                if (!more)
                {
                    break;
                }
                continue;
            }
            if (next.Failure is { } failure)
            {
                build.Skip(next.Row, failure.Reason, failure.Message);
                continue;
            }
            pending.Add(next);
            if (pending.Count == BatchPhotos)
            {
                Flush(pending, store, build);
            }
        }
        Flush(pending, store, build);
    }

    /// <summary>One network run over the pending photos, then their catalog rows and thumbnails.</summary>
    private void Flush(List<Prepared> pending, CatalogStore store, BuildState build)
    {
        if (pending.Count == 0)
        {
            return;
        }
        var networkClock = Stopwatch.StartNew();
        var vectors = EmbedBatch(pending);
        build.NetworkMs += networkClock.Elapsed.TotalMilliseconds;
        build.Batches++;
        for (var i = 0; i < pending.Count; i++)
        {
            var id = store.AddItem(pending[i].Item!, pending[i].Thumbnail!);
            build.Indexed(pending[i].Item! with { Id = id }, vectors[i]);
        }
        pending.Clear();
    }

    private static void RefuseIfTooFew(BuildState build, string outDirectory, TimeSpan elapsed)
    {
        var rows = build.Rows.Count;
        if (build.Items.Count == 0 || build.Items.Count < rows * MinIndexedShare)
        {
            throw new IndexBuildRefusedException(build.Summary(outDirectory, 0, 0, elapsed));
        }
    }

    private static void WriteMallProfiles(CatalogStore store, CatalogIndex index)
    {
        foreach (var mall in index.Malls.Values)
        {
            store.SetMallProfile(new MallRecord(
                mall.Name,
                mall.Url,
                mall.ItemCount,
                mall.StyleCounts.ToDictionary(kv => kv.Key, kv => kv.Value / (double)mall.ItemCount)));
        }
    }

    private void WriteVectors(string work, List<(CatalogItem Item, float[] Vector)> items)
    {
        using var vectors = new VectorIndex(engine.Settings.Dimensions);
        foreach (var (item, vector) in items)
        {
            vectors.Add(item.VectorKey, vector);
        }
        vectors.Save(work);
    }

    private void WriteManifest(string work, string catalogCsv, BuildState build, int malls)
    {
        var manifest = IndexManifest.Expected(engine) with
        {
            ItemCount = build.Items.Count,
            SkippedCount = build.Rows.Count - build.Items.Count,
            SkippedByReason = build.Skipped,
            MallCount = malls,
            BuiltUtc = DateTimeOffset.UtcNow,
            CatalogPath = Path.GetFullPath(catalogCsv),
            CatalogSha256 = IndexManifest.Sha256OfFile(catalogCsv),
        };
        manifest.Save(work);
    }

    /// <summary>What one build has done so far: the indexed photos, why others were skipped, and where the time went.</summary>
    private sealed class BuildState(IReadOnlyList<CatalogRow> rows, IProgress<IndexBuildProgress>? progress)
    {
        private int _done;

        public IReadOnlyList<CatalogRow> Rows { get; } = rows;
        public List<(CatalogItem Item, float[] Vector)> Items { get; } = new(rows.Count);
        public Dictionary<string, int> Skipped { get; } = new(StringComparer.Ordinal);
        public List<string> Examples { get; } = [];
        public double PrepareMs { get; set; }
        public double NetworkMs { get; set; }
        public double WaitMs { get; set; }
        public int Batches { get; set; }
        public IndexBuildTimings? Timings { get; set; }

        public void Indexed(CatalogItem item, float[] vector)
        {
            Items.Add((item, vector));
            Report();
        }

        public void Skip(CatalogRow row, string reason, string message)
        {
            Skipped[reason] = Skipped.GetValueOrDefault(reason) + 1;
            if (Examples.Count < 20)
            {
                Examples.Add($"row {row.RowNumber} ({row.Image}): {message}");
            }
            Report();
        }

        public IndexBuildSummary Summary(string outDirectory, int malls, int predicted, TimeSpan elapsed) => new(
            Path.GetFullPath(outDirectory), Rows.Count, Items.Count, Rows.Count - Items.Count, Skipped, Examples,
            malls, predicted, elapsed);

        private void Report()
        {
            _done++;
            progress?.Report(new IndexBuildProgress(_done, Rows.Count, Items.Count, _done - Items.Count));
        }
    }

    /// <summary>A photo ready for the network (its inputs rendered, its row and thumbnail made), or why it is skipped.</summary>
    private sealed record Prepared(CatalogRow Row, CatalogItem? Item, byte[]? Thumbnail, SKBitmap[]? Inputs, (string Reason, string Message)? Failure);

    private Prepared Prepare(CatalogRow row, FetchResult result)
    {
        if (!result.Ok)
        {
            return new Prepared(row, null, null, null,
                ("fetch_" + result.Failure!.Value.ToString().ToLowerInvariant(), result.Message ?? "could not be fetched"));
        }
        try
        {
            using var decoded = ImageDecoder.Decode(result.Bytes!, engine.Limits);
            var person = engine.Segmenter.Detect(decoded.Bitmap);
            var inputs = engine.RenderInputs(decoded.Bitmap, person);
            var item = row.ToItem(decoded.OriginalWidth, decoded.OriginalHeight);
            return new Prepared(row, item, Thumbnails.Jpeg(decoded.Bitmap, ThumbnailSide), inputs, null);
        }
        catch (ImageRejectedException ex)
        {
            return new Prepared(row, null, null, null, (ex.Code.ToWire(), ex.Message));
        }
    }

    /// <summary>One network run over every input of the photos; returns each photo's vector and disposes the inputs.</summary>
    private float[][] EmbedBatch(List<Prepared> photos)
    {
        try
        {
            var embeddings = engine.Embedder.EmbedBatch(photos.SelectMany(p => p.Inputs!).ToArray());
            var per = engine.InputsPerPhoto;
            return photos.Select((_, i) => engine.Combine(embeddings[(i * per)..((i + 1) * per)])).ToArray();
        }
        finally
        {
            foreach (var input in photos.SelectMany(p => p.Inputs!))
            {
                input.Dispose();
            }
        }
    }

    // Unlabelled rows get the classifier's style so every mall has a profile; labelled rows keep their label.
    // With a trained head (IStyleHeadInfo), rows that do not look like outfits get none.
    private static int PredictStyles(
        CatalogStore store, List<(CatalogItem Item, float[] Vector)> items, Func<ICatalogView, IStyleClassifier>? factory)
    {
        if (!items.Any(i => string.IsNullOrWhiteSpace(i.Item.Style)))
        {
            return 0;
        }
        using var labelled = CatalogIndex.InMemory(items, items[0].Vector.Length);
        var classifier = factory?.Invoke(labelled) ?? new KnnStyleClassifier(labelled);
        if (classifier.Classes.Count == 0)
        {
            return 0;
        }
        var count = 0;
        for (var i = 0; i < items.Count; i++)
        {
            var (item, vector) = items[i];
            if (!string.IsNullOrWhiteSpace(item.Style))
            {
                continue;
            }
            if (classifier is IStyleHeadInfo head && !OutfitRecommender.OutfitVerdict(head, personFound: false, vector))
            {
                // A product shot unlike any outfit (the demo's Fashion-MNIST items): no style is made up for it.
                continue;
            }
            var neighbors = labelled.Search(vector, 32).Where(n => n.Key != item.VectorKey).ToArray();
            var best = classifier.Classify(vector, neighbors)[0].Style.Id;
            store.SetPredictedStyle(item.Id, best);
            items[i] = (item with { PredictedStyle = best }, vector);
            count++;
        }
        return count;
    }
}

/// <summary>
/// A build indexed too few photos (<see cref="IndexBuilder.MinIndexedShare"/>); nothing was written to the target, the
/// old index (if any) is unchanged. The message is one line with the main reasons.
/// </summary>
public sealed class IndexBuildRefusedException(IndexBuildSummary summary) : Exception(Describe(summary))
{
    public IndexBuildSummary Summary { get; } = summary;

    private static string Describe(IndexBuildSummary s)
    {
        var reasons = string.Join(", ", s.SkippedByReason.OrderByDescending(kv => kv.Value).Take(4).Select(kv => $"{kv.Value} × {kv.Key}"));
        var example = s.SkipExamples.Count > 0 ? $"; e.g. {s.SkipExamples[0].ReplaceLineEndings(" ")}" : "";
        var old = Directory.Exists(s.Directory) ? $"the index at {s.Directory} is unchanged" : $"nothing was written to {s.Directory}";
        return $"index not built: only {s.Indexed} of {s.Rows} photos could be indexed (at least half of the rows, and one photo, are needed)"
               + (reasons.Length > 0 ? $" — skipped {reasons}{example}" : "")
               + $"; {old}. Fix the catalog's image paths or URLs and build again.";
    }
}
