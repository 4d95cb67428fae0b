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
        var rows = CatalogManifest.Read(catalogCsv);
        var skipped = new Dictionary<string, int>(StringComparer.Ordinal);
        var examples = new List<string>();
        void Skip(CatalogRow row, string reason, string message)
        {
            skipped[reason] = skipped.GetValueOrDefault(reason) + 1;
            if (examples.Count < 20)
            {
                examples.Add($"row {row.RowNumber} ({row.Image}): {message}");
            }
        }

        IndexBuildSummary? summary = null;
        IndexBuildTimings? timings = null;
        await AtomicDirectory.BuildAsync(outDirectory, async (work, ct) =>
        {
            var items = new List<(CatalogItem Item, float[] Vector)>(rows.Count);
            using (var store = CatalogStore.Create(Path.Combine(work, CatalogStore.FileName)))
            using (var fetcher = new CatalogImageFetcher(fetchOptions))
            {
                var fetched = Channel.CreateBounded<(CatalogRow Row, FetchResult Result)>(
                    new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });
                // Downloads overlap with inference; inference itself uses every core through ONNX Runtime.
                var producer = Task.Run(async () =>
                {
                    try
                    {
                        foreach (var row in rows)
                        {
                            var result = row.IsUsable
                                ? await fetcher.FetchAsync(row, ct).ConfigureAwait(false)
                                : FetchResult.Fail(FetchFailure.InvalidUrl, row.Rejection!);
                            await fetched.Writer.WriteAsync((row, result), ct).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        fetched.Writer.Complete();
                    }
                }, ct);

                var prepared = Channel.CreateBounded<Prepared>(
                    new BoundedChannelOptions(BatchPhotos + 1) { SingleReader = true, SingleWriter = true });
                var prepareMs = 0.0;
                var preparer = Task.Run(async () =>
                {
                    try
                    {
                        await foreach (var (row, result) in fetched.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                        {
                            var prepareClock = Stopwatch.StartNew();
                            var item = Prepare(row, result);
                            prepareMs += prepareClock.Elapsed.TotalMilliseconds;
                            await prepared.Writer.WriteAsync(item, ct).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        prepared.Writer.Complete();
                    }
                }, ct);

                var done = 0;
                var networkMs = 0.0;
                var waitMs = 0.0;
                var batches = 0;
                var pending = new List<Prepared>(BatchPhotos);
                void Flush()
                {
                    if (pending.Count == 0)
                    {
                        return;
                    }
                    var networkClock = Stopwatch.StartNew();
                    var vectors = EmbedBatch(pending);
                    networkMs += networkClock.Elapsed.TotalMilliseconds;
                    batches++;
                    for (var i = 0; i < pending.Count; i++)
                    {
                        var id = store.AddItem(pending[i].Item!, pending[i].Thumbnail!);
                        items.Add((pending[i].Item! with { Id = id }, vectors[i]));
                        done++;
                        progress?.Report(new IndexBuildProgress(done, rows.Count, items.Count, done - items.Count));
                    }
                    pending.Clear();
                }
                using (var batch = store.BeginBatch())
                {
                    var reader = prepared.Reader;
                    while (true)
                    {
                        if (!reader.TryRead(out var next))
                        {
                            // Nothing ready: run what we have rather than let the network idle, then wait.
                            Flush();
                            var wait = Stopwatch.StartNew();
                            var more = await reader.WaitToReadAsync(ct).ConfigureAwait(false);
                            waitMs += wait.Elapsed.TotalMilliseconds;
                            if (!more)
                            {
                                break;
                            }
                            continue;
                        }
                        if (next.Failure is { } failure)
                        {
                            done++;
                            Skip(next.Row, failure.Reason, failure.Message);
                            progress?.Report(new IndexBuildProgress(done, rows.Count, items.Count, done - items.Count));
                            continue;
                        }
                        pending.Add(next);
                        if (pending.Count == BatchPhotos)
                        {
                            Flush();
                        }
                    }
                    Flush();
                    batch.Commit();
                }
                await preparer.ConfigureAwait(false);
                timings = new IndexBuildTimings(items.Count, batches, prepareMs, networkMs, waitMs);
                await producer.ConfigureAwait(false);
                if (items.Count == 0 || items.Count < rows.Count * MinIndexedShare)
                {
                    throw new IndexBuildRefusedException(new IndexBuildSummary(
                        Path.GetFullPath(outDirectory), rows.Count, items.Count, rows.Count - items.Count, skipped, examples,
                        0, 0, clock.Elapsed));
                }

                var predicted = PredictStyles(store, items, classifierFactory);
                using var index = CatalogIndex.InMemory(items, engine.Settings.Dimensions);
                foreach (var mall in index.Malls.Values)
                {
                    store.SetMallProfile(new MallRecord(
                        mall.Name,
                        mall.Url,
                        mall.ItemCount,
                        mall.StyleCounts.ToDictionary(kv => kv.Key, kv => kv.Value / (double)mall.ItemCount)));
                }
                var vectors = new VectorIndex(engine.Settings.Dimensions);
                foreach (var (item, vector) in items)
                {
                    vectors.Add(item.VectorKey, vector);
                }
                vectors.Save(work);
                vectors.Dispose();

                var manifest = IndexManifest.Expected(engine) with
                {
                    ItemCount = items.Count,
                    SkippedCount = rows.Count - items.Count,
                    SkippedByReason = skipped,
                    MallCount = index.Malls.Count,
                    BuiltUtc = DateTimeOffset.UtcNow,
                    CatalogPath = Path.GetFullPath(catalogCsv),
                    CatalogSha256 = IndexManifest.Sha256OfFile(catalogCsv),
                };
                manifest.Save(work);
                summary = new IndexBuildSummary(
                    Path.GetFullPath(outDirectory), rows.Count, items.Count, rows.Count - items.Count, skipped, examples,
                    index.Malls.Count, predicted, TimeSpan.Zero);
            }
        }, cancellationToken).ConfigureAwait(false);
        return summary! with { Elapsed = clock.Elapsed, Timings = timings };
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
