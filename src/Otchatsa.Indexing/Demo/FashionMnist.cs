using System.Net;
using System.Security.Cryptography;
using Polly;
using Polly.Retry;

namespace Otchatsa.Demo;

/// <summary>Which half of Fashion-MNIST: the 60,000 training images or the 10,000 test (t10k) images.</summary>
public enum FashionMnistSplit
{
    Test,
    Train,
}

/// <summary>Where the Fashion-MNIST files were found.</summary>
public enum FashionMnistOrigin
{
    /// <summary>The folder named by <c>$OTCHATSA_FASHION_MNIST</c>.</summary>
    EnvironmentVariable,

    /// <summary>The Debian package <c>dataset-fashion-mnist</c> (<c>/usr/share/datasets/fashion-mnist</c>).</summary>
    DebianPackage,

    /// <summary>Files downloaded earlier into the user cache.</summary>
    Cache,

    /// <summary>Downloaded during this call.</summary>
    Download,

    /// <summary>The small test-split subset embedded in this assembly (<see cref="FashionMnist.Embedded"/>).</summary>
    Embedded,
}

/// <summary>Where <see cref="FashionMnist.LocateAsync"/> looks and how it downloads.</summary>
public sealed record FashionMnistOptions
{
    public const string EnvironmentVariable = "OTCHATSA_FASHION_MNIST";
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Overrides <c>$OTCHATSA_FASHION_MNIST</c>; empty string means "ignore the variable".</summary>
    public string? ExplicitDirectory { get; init; }

    /// <summary>Null disables the Debian location (tests use this to force other paths).</summary>
    public string? DebianPackageDirectory { get; init; } = DebianDirectory;

    /// <summary>Default: <c>$XDG_CACHE_HOME/otchatsa/fashion-mnist</c> or <c>~/.cache/otchatsa/fashion-mnist</c>.</summary>
    public string CacheDirectory { get; init; } = DefaultCacheDirectory();

    public bool AllowDownload { get; init; } = true;

    /// <summary>Base URLs tried in order; each must end with '/'.</summary>
    public IReadOnlyList<Uri> Mirrors { get; init; } =
    [
        // The official S3 *website* endpoint serves plain HTTP only; integrity comes from the MD5 + SHA-256 checks.
        new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        new("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
    ];

    /// <summary>Per-attempt timeout for one file (the largest is 26 MB).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Retries per mirror after the first attempt.</summary>
    public int RetriesPerMirror { get; init; } = 2;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Check every file's decompressed SHA-256 (and, for downloads, the official gzip MD5).</summary>
    public bool VerifyChecksums { get; init; } = true;

    /// <summary>For tests: the handler the download <see cref="HttpClient"/> uses.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public static string DefaultCacheDirectory() => Pipeline.CacheFolders.Resolve(null, "fashion-mnist");
}

/// <summary>One official Fashion-MNIST file and its known checksums.</summary>
/// <param name="FileName">The official file name (gzip).</param>
/// <param name="GzipMd5">MD5 of the official .gz, as published in the Fashion-MNIST README.</param>
/// <param name="ContentSha256">
/// SHA-256 of the decompressed IDX file. Not published upstream: computed from the Debian package's copy, whose
/// deflate stream was shown to be byte-identical to the official file (see remarks on <see cref="FashionMnist"/>).
/// </param>
/// <param name="ContentLength">Size of the decompressed IDX file in bytes.</param>
public sealed record FashionMnistFile(string FileName, string GzipMd5, string ContentSha256, long ContentLength)
{
    /// <summary>The name without <c>.gz</c>, accepted too when a folder holds decompressed files.</summary>
    public string RawFileName => FileName[..^3];
}

/// <summary>
/// The Fashion-MNIST dataset (Zalando Research, MIT licence): 28×28 grayscale garment images in 10 classes, used by
/// <c>otchatsa demo</c> to build a self-contained demo catalog.
/// </summary>
/// <remarks>
/// The Debian package's .gz files do not match the MD5s in the official README. They differ only in the gzip header:
/// Debian's build (strip-nondeterminism) dropped the stored file name (FNAME) and set MTIME to 2020-06-05. Putting the
/// official header back (FNAME = the file name, MTIME 2017-08-31 10:50:06/27 UTC, XFL 0, OS 3) in front of Debian's
/// deflate stream reproduces all four official MD5s exactly, so the content is the official content. That is why local
/// files are checked by the SHA-256 of their decompressed content, and downloads by both.
/// </remarks>
public sealed class FashionMnist
{
    /// <summary>Class names in label order (0 = T-shirt/top … 9 = Ankle boot), as in the official README.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static FashionMnistFile TestImages { get; } = new(
        "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016);

    public static FashionMnistFile TestLabels { get; } = new(
        "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008);

    public static FashionMnistFile TrainImages { get; } = new(
        "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47_040_016);

    public static FashionMnistFile TrainLabels { get; } = new(
        "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008);

    private readonly bool _verify;

    private FashionMnist(string directory, FashionMnistOrigin origin, bool verify)
    {
        Directory = directory;
        Origin = origin;
        _verify = verify;
    }

    /// <summary>The folder holding the files.</summary>
    public string Directory { get; }

    public FashionMnistOrigin Origin { get; }

    /// <summary>One line for the user saying where the data came from.</summary>
    public string SourceDescription => Origin switch
    {
        FashionMnistOrigin.EnvironmentVariable => $"${FashionMnistOptions.EnvironmentVariable} ({Directory})",
        FashionMnistOrigin.DebianPackage => $"Debian package dataset-fashion-mnist ({Directory})",
        FashionMnistOrigin.Cache => $"download cache ({Directory})",
        FashionMnistOrigin.Download => $"downloaded from the official mirrors into {Directory}",
        FashionMnistOrigin.Embedded => $"the embedded subset ({FashionMnistSubset.PerClass} test images per class, built into otchatsa)",
        _ => Directory,
    };

    public static (FashionMnistFile Images, FashionMnistFile Labels) FilesOf(FashionMnistSplit split) => split switch
    {
        FashionMnistSplit.Test => (TestImages, TestLabels),
        FashionMnistSplit.Train => (TrainImages, TrainLabels),
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, null),
    };

    /// <summary>
    /// The demo's default data: the first <see cref="FashionMnistSubset.PerClass"/> test images of every class, embedded
    /// in this assembly (see <c>Demo/Data/README.md</c>), so the demo needs no download and no installed package. Only
    /// the <see cref="FashionMnistSplit.Test"/> split is available; catalogs written from it are identical to those
    /// written from the full test split for up to <see cref="FashionMnistSubset.MaxCatalogPerClass"/> photos per class.
    /// </summary>
    public static FashionMnist Embedded() => new("(embedded)", FashionMnistOrigin.Embedded, verify: false);

    /// <summary>
    /// Finds the files of <paramref name="split"/>: <c>$OTCHATSA_FASHION_MNIST</c>, then the Debian package, then the
    /// cache, then a download into the cache. A set but unusable <c>$OTCHATSA_FASHION_MNIST</c> is an error rather
    /// than a silent fall-through, so a user never gets data from somewhere other than where they pointed.
    /// </summary>
    public static async Task<FashionMnist> LocateAsync(
        FashionMnistSplit split = FashionMnistSplit.Test,
        FashionMnistOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new FashionMnistOptions();
        var (images, labels) = FilesOf(split);
        FashionMnistFile[] needed = [images, labels];

        string? explicitDir = options.ExplicitDirectory ?? Environment.GetEnvironmentVariable(FashionMnistOptions.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitDir))
        {
            string[] missing = needed.Where(f => FindFile(explicitDir, f) is null).Select(f => f.FileName).ToArray();
            if (missing.Length > 0)
            {
                throw new FileNotFoundException(
                    $"${FashionMnistOptions.EnvironmentVariable} points to '{explicitDir}', which lacks {string.Join(", ", missing)} (or the same names without .gz).");
            }

            return new FashionMnist(Path.GetFullPath(explicitDir), FashionMnistOrigin.EnvironmentVariable, options.VerifyChecksums);
        }

        if (options.DebianPackageDirectory is { } debian && needed.All(f => FindFile(debian, f) is not null))
        {
            return new FashionMnist(debian, FashionMnistOrigin.DebianPackage, options.VerifyChecksums);
        }

        string cache = options.CacheDirectory;
        if (needed.All(f => FindFile(cache, f) is not null))
        {
            return new FashionMnist(cache, FashionMnistOrigin.Cache, options.VerifyChecksums);
        }

        if (!options.AllowDownload)
        {
            throw new FileNotFoundException(
                $"Fashion-MNIST not found: set ${FashionMnistOptions.EnvironmentVariable} to a folder with {images.FileName} and {labels.FileName}, "
                + $"install the Debian package dataset-fashion-mnist, or allow the download into {cache}.");
        }

        System.IO.Directory.CreateDirectory(cache);
        var downloader = new FashionMnistDownloader(options);
        foreach (var file in needed.Where(f => FindFile(cache, f) is null))
        {
            await downloader.DownloadAsync(file, Path.Combine(cache, file.FileName), cancellationToken).ConfigureAwait(false);
        }

        return new FashionMnist(cache, FashionMnistOrigin.Download, options.VerifyChecksums);
    }

    /// <summary>Loads and checks one split. Labels are validated against the 10 classes.</summary>
    public (IdxImages Images, byte[] Labels) Load(FashionMnistSplit split)
    {
        if (Origin == FashionMnistOrigin.Embedded)
        {
            if (split != FashionMnistSplit.Test)
            {
                throw new InvalidOperationException("The embedded Fashion-MNIST subset holds test images only.");
            }

            var subset = FashionMnistSubset.LoadEmbedded();
            return (subset.Images, subset.Labels);
        }

        var (imageFile, labelFile) = FilesOf(split);
        var images = IdxFile.ParseImages(ReadVerified(imageFile, out string imagePath), imagePath);
        var labels = IdxFile.ParseLabels(ReadVerified(labelFile, out string labelPath), labelPath);
        if (images.Count != labels.Length)
        {
            throw new InvalidDataException($"{imagePath} has {images.Count} images but {labelPath} has {labels.Length} labels.");
        }

        int bad = Array.FindIndex(labels, l => l >= ClassNames.Count);
        if (bad >= 0)
        {
            throw new InvalidDataException($"{labelPath}: label {labels[bad]} at index {bad} is not a Fashion-MNIST class (0–9).");
        }

        return (images, labels);
    }

    /// <summary>
    /// Writes a demo catalog to <paramref name="outDir"/>: <c>images/t10k-NNNNN.png</c>, <c>manifest.csv</c> (columns
    /// image, mall, style, title, url, price, mall_url, plus garment and source_index), <c>query.png</c> (a held-out test
    /// image of <see cref="DemoCatalogOptions.QueryClass"/>) and a README. Uses the first <paramref name="perClass"/>
    /// test images of each class in file order, so every run writes the same files (and the same files from the embedded
    /// subset as from the full split).
    /// </summary>
    public DemoCatalog WriteDemoCatalog(string outDir, int perClass = FashionMnistSubset.MaxCatalogPerClass, DemoCatalogOptions? options = null) =>
        DemoCatalogWriter.Write(this, outDir, perClass, options ?? new DemoCatalogOptions());

    /// <summary>The test split with each image's index in the official t10k file (the identity unless embedded).</summary>
    internal (IdxImages Images, byte[] Labels, int[] SourceIndex) LoadTestWithSourceIndex()
    {
        if (Origin == FashionMnistOrigin.Embedded)
        {
            var subset = FashionMnistSubset.LoadEmbedded();
            return (subset.Images, subset.Labels, subset.SourceIndex);
        }

        var (images, labels) = Load(FashionMnistSplit.Test);
        return (images, labels, Enumerable.Range(0, labels.Length).ToArray());
    }

    private byte[] ReadVerified(FashionMnistFile file, out string path)
    {
        path = FindFile(Directory, file)
            ?? throw new FileNotFoundException($"{file.FileName} disappeared from {Directory}.");
        byte[] raw = IdxFile.Decompress(File.ReadAllBytes(path), path);
        if (_verify)
        {
            string sha = Convert.ToHexStringLower(SHA256.HashData(raw));
            if (sha != file.ContentSha256)
            {
                throw new InvalidDataException(
                    $"{path}: content SHA-256 {sha} does not match official Fashion-MNIST {file.RawFileName} ({file.ContentSha256}); "
                    + "the file is corrupt or a different dataset.");
            }
        }

        return raw;
    }

    internal static string? FindFile(string directory, FashionMnistFile file)
    {
        foreach (string name in new[] { file.FileName, file.RawFileName })
        {
            string path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}

/// <summary>Downloads official Fashion-MNIST files with per-attempt timeouts, retries and mirror fall-back.</summary>
internal sealed class FashionMnistDownloader(FashionMnistOptions options)
{
    public async Task DownloadAsync(FashionMnistFile file, string destination, CancellationToken cancellationToken)
    {
        var pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, options.RetriesPerMirror),
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                // A checksum mismatch is retried too: a truncated body through a proxy looks exactly like that.
                ShouldHandle = new PredicateBuilder()
                    .Handle<HttpRequestException>()
                    .Handle<IOException>()
                    .Handle<InvalidDataException>()
                    .Handle<TimeoutException>(),
            })
            .Build();

        using var http = options.HttpHandler is null
            ? new HttpClient()
            : new HttpClient(options.HttpHandler, disposeHandler: false);
        // Timeouts are enforced per attempt below; HttpClient's own would cap the whole retry sequence.
        http.Timeout = Timeout.InfiniteTimeSpan;
        http.DefaultRequestHeaders.UserAgent.ParseAdd("otchatsa-demo/1.0");

        var failures = new List<string>();
        foreach (Uri mirror in options.Mirrors)
        {
            var uri = new Uri(mirror, file.FileName);
            try
            {
                await pipeline.ExecuteAsync(
                    async ct => await DownloadOnceAsync(http, uri, file, destination, ct).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures.Add($"{uri}: {ex.Message}");
            }
        }

        throw new IOException(
            $"Could not download {file.FileName} from any mirror:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", failures));
    }

    private async Task DownloadOnceAsync(HttpClient http, Uri uri, FashionMnistFile file, string destination, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.AttemptTimeout);
        string temp = destination + $".{Environment.ProcessId}.part";
        try
        {
            using (var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false))
            {
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                }

                await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                await using var output = File.Create(temp);
                await body.CopyToAsync(output, timeout.Token).ConfigureAwait(false);
            }

            if (options.VerifyChecksums)
            {
                Verify(file, temp);
            }

            // Readers never see a half-written file: the verified download appears under its final name atomically.
            File.Move(temp, destination, overwrite: true);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no complete response within {options.AttemptTimeout.TotalSeconds:0} s", ex);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void Verify(FashionMnistFile file, string path)
    {
        byte[] gz = File.ReadAllBytes(path);
        string md5 = Convert.ToHexStringLower(MD5.HashData(gz));
        if (md5 != file.GzipMd5)
        {
            throw new InvalidDataException($"MD5 {md5} does not match the official {file.GzipMd5} ({gz.Length} bytes received)");
        }

        string sha = Convert.ToHexStringLower(SHA256.HashData(IdxFile.Decompress(gz, file.FileName)));
        if (sha != file.ContentSha256)
        {
            throw new InvalidDataException($"content SHA-256 {sha} does not match {file.ContentSha256}");
        }
    }
}
