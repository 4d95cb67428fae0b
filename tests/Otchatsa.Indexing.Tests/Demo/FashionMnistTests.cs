using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Otchatsa.Demo;
using SkiaSharp;

namespace Otchatsa.Tests.Demo;

public sealed class FashionMnistTests
{
    private const string SkipReason =
        "Fashion-MNIST not installed: install the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).";

    private static string DebianDir => FashionMnistOptions.DebianDirectory;

    private static bool DebianPresent =>
        File.Exists(Path.Combine(DebianDir, FashionMnist.TestImages.FileName))
        && File.Exists(Path.Combine(DebianDir, FashionMnist.TestLabels.FileName));

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"otchatsa-fmnist-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static FashionMnistOptions DebianOnly => new() { ExplicitDirectory = "", AllowDownload = false, CacheDirectory = "/nonexistent-otchatsa-cache" };

    [SkippableFact]
    public async Task Debian_package_is_found_and_matches_official_content()
    {
        Skip.IfNot(DebianPresent, SkipReason);
        var data = await FashionMnist.LocateAsync(FashionMnistSplit.Test, DebianOnly);

        Assert.Equal(FashionMnistOrigin.DebianPackage, data.Origin);
        Assert.Contains("dataset-fashion-mnist", data.SourceDescription);
        var (images, labels) = data.Load(FashionMnistSplit.Test); // throws on a SHA-256 mismatch
        Assert.Equal(10_000, images.Count);
        Assert.Equal(28, images.Rows);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, labels.Count(l => l == c)));
    }

    [SkippableFact]
    public async Task Debian_gz_differs_from_official_only_in_the_gzip_header()
    {
        Skip.IfNot(DebianPresent, SkipReason);
        // The official labels file = Debian's deflate stream behind the original header (name + 2017 mtime).
        byte[] official = OfficialFromDebian(FashionMnist.TestLabels, 1504176627);
        Assert.Equal(FashionMnist.TestLabels.GzipMd5, Convert.ToHexStringLower(MD5.HashData(official)));
        await Task.CompletedTask;
    }

    [Fact]
    public void Writes_demo_catalog_with_expected_counts_and_columns_from_the_embedded_subset()
    {
        var data = FashionMnist.Embedded();
        Assert.Equal(FashionMnistOrigin.Embedded, data.Origin);
        string dir = TempDir();
        try
        {
            var catalog = data.WriteDemoCatalog(dir, perClass: 12);

            string[] lines = File.ReadAllLines(catalog.ManifestPath);
            string[] header = lines[0].Split(',');
            Assert.Equal(["image", "mall", "style", "title", "url", "price", "mall_url"], header[..7]);
            Assert.Equal(121, lines.Length);
            Assert.Equal(120, catalog.ImageCount);

            var rows = lines[1..].Select(l => l.Split(',')).ToList();
            Assert.All(rows, r => Assert.Equal(header.Length, r.Length));
            Assert.All(rows, r => Assert.Equal("", r[2])); // no invented style labels
            Assert.All(rows, r => Assert.True(File.Exists(Path.Combine(dir, r[0])), r[0]));
            Assert.All(rows, r => Assert.EndsWith(".example.invalid/", r[6]));
            Assert.Equal(12, rows.Count(r => r[7] == "Ankle boot"));
            Assert.Contains(rows, r => r[3] == "Ankle boot #12");
            Assert.Equal(6, rows.Select(r => r[1]).Distinct().Count());
            Assert.Equal(catalog.ImageCount, catalog.ImagesPerMall.Values.Sum());
            // T-shirt/top is split between demo-tops and demo-basics; shoes are 3 classes × 12.
            Assert.Equal(36, catalog.ImagesPerMall["demo-shoes"]);
            Assert.Equal(12 + 6, catalog.ImagesPerMall["demo-basics"]);

            Assert.True(File.Exists(catalog.QueryImagePath));
            Assert.Equal(9, catalog.QueryLabel);
            Assert.DoesNotContain(rows, r => r[8] == catalog.QuerySourceIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));

            using var png = SKBitmap.Decode(Path.Combine(dir, rows[0][0]));
            Assert.Equal(112, png.Width);
            Assert.Equal(112, png.Height);
            var corner = png.GetPixel(0, 0);
            Assert.True(corner.Red > 240 && corner.Green > 240 && corner.Blue > 240, $"background should be white, got {corner}");

            // Deterministic: a second run writes identical bytes.
            byte[] firstManifest = File.ReadAllBytes(catalog.ManifestPath);
            byte[] firstImage = File.ReadAllBytes(Path.Combine(dir, rows[5][0]));
            data.WriteDemoCatalog(dir, perClass: 12);
            Assert.Equal(firstManifest, File.ReadAllBytes(catalog.ManifestPath));
            Assert.Equal(firstImage, File.ReadAllBytes(Path.Combine(dir, rows[5][0])));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Embedded_subset_holds_81_photos_per_class_in_t10k_order_and_refuses_a_catalog_it_cannot_hold_out_from()
    {
        var subset = FashionMnistSubset.LoadEmbedded();

        Assert.Equal(810, subset.Images.Count);
        Assert.Equal((28, 28), (subset.Images.Rows, subset.Images.Columns));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(81, subset.Labels.Count(l => l == c)));
        Assert.True(subset.SourceIndex.Zip(subset.SourceIndex.Skip(1)).All(p => p.First < p.Second), "source indices must be in file order");
        string never = Path.Combine(Path.GetTempPath(), $"otchatsa-fmnist-{Guid.NewGuid():N}");
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.Embedded().WriteDemoCatalog(never, perClass: 81));
        Assert.Contains("At most 80 per class", ex.Message);
        Assert.False(Directory.Exists(never)); // refused before anything is written
    }

    [SkippableFact]
    public async Task Embedded_subset_is_the_first_81_per_class_of_the_official_test_split()
    {
        Skip.IfNot(DebianPresent, SkipReason);
        var full = await FashionMnist.LocateAsync(FashionMnistSplit.Test, DebianOnly);
        string dir = TempDir();
        try
        {
            // Regenerating from the full split (as Demo/Data/README.md says) gives the embedded content.
            FashionMnistSubset.Write(full, Path.Combine(dir, "subset"));
            var regenerated = FashionMnistSubset.Read(Path.Combine(dir, "subset"));
            var embedded = FashionMnistSubset.LoadEmbedded();
            Assert.Equal(embedded.SourceIndex, regenerated.SourceIndex);
            Assert.Equal(embedded.Labels, regenerated.Labels);
            var (images, labels) = full.Load(FashionMnistSplit.Test);
            for (int i = 0; i < embedded.Images.Count; i++)
            {
                Assert.True(embedded.Images[i].SequenceEqual(images[embedded.SourceIndex[i]]), $"image {i}");
                Assert.Equal(labels[embedded.SourceIndex[i]], embedded.Labels[i]);
            }

            // And a demo catalog from the subset is the one the full split gives.
            var fromFull = full.WriteDemoCatalog(Path.Combine(dir, "full"), perClass: 80);
            var fromEmbedded = FashionMnist.Embedded().WriteDemoCatalog(Path.Combine(dir, "embedded"), perClass: 80);
            Assert.Equal(File.ReadAllBytes(fromFull.ManifestPath), File.ReadAllBytes(fromEmbedded.ManifestPath));
            Assert.Equal(File.ReadAllBytes(fromFull.QueryImagePath), File.ReadAllBytes(fromEmbedded.QueryImagePath));
            Assert.Equal(fromFull.QuerySourceIndex, fromEmbedded.QuerySourceIndex);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Download_falls_back_to_second_mirror_and_verifies_md5()
    {
        Skip.IfNot(DebianPresent, SkipReason);
        var files = new Dictionary<string, byte[]>
        {
            [FashionMnist.TestImages.FileName] = OfficialFromDebian(FashionMnist.TestImages, 1504176627),
            [FashionMnist.TestLabels.FileName] = OfficialFromDebian(FashionMnist.TestLabels, 1504176627),
        };
        var handler = new FakeMirrors(files);
        string cache = TempDir();
        try
        {
            var options = new FashionMnistOptions
            {
                ExplicitDirectory = "",
                DebianPackageDirectory = null,
                CacheDirectory = cache,
                Mirrors = [new Uri("http://broken.invalid/"), new Uri("http://corrupt.invalid/"), new Uri("http://good.invalid/")],
                RetriesPerMirror = 1,
                RetryDelay = TimeSpan.FromMilliseconds(1),
                HttpHandler = handler,
            };

            var data = await FashionMnist.LocateAsync(FashionMnistSplit.Test, options);

            Assert.Equal(FashionMnistOrigin.Download, data.Origin);
            Assert.Equal(4, handler.Requests.Count(u => u.Host == "broken.invalid")); // 2 files × (1 + 1 retry)
            Assert.Equal(4, handler.Requests.Count(u => u.Host == "corrupt.invalid"));
            Assert.Equal(10_000, data.Load(FashionMnistSplit.Test).Labels.Length);
            Assert.Empty(Directory.GetFiles(cache, "*.part"));

            var again = await FashionMnist.LocateAsync(FashionMnistSplit.Test, options with { AllowDownload = false });
            Assert.Equal(FashionMnistOrigin.Cache, again.Origin);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task Explicit_folder_without_files_is_an_error_not_a_fallback()
    {
        string dir = TempDir();
        try
        {
            var ex = await Assert.ThrowsAsync<FileNotFoundException>(() =>
                FashionMnist.LocateAsync(FashionMnistSplit.Test, new FashionMnistOptions { ExplicitDirectory = dir }));
            Assert.Contains(FashionMnistOptions.EnvironmentVariable, ex.Message);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public async Task Wrong_content_in_explicit_folder_fails_the_checksum()
    {
        string dir = TempDir();
        try
        {
            File.WriteAllBytes(Path.Combine(dir, FashionMnist.TestImages.FileName), IdxFileTests.Gzip(IdxFileTests.ImagesIdx(2, 28, 28, _ => 0)));
            File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), IdxFileTests.LabelsIdx(0, 1));
            var data = await FashionMnist.LocateAsync(FashionMnistSplit.Test, new FashionMnistOptions { ExplicitDirectory = dir });
            Assert.Equal(FashionMnistOrigin.EnvironmentVariable, data.Origin);
            Assert.Contains("SHA-256", Assert.Throws<InvalidDataException>(() => data.Load(FashionMnistSplit.Test)).Message);

            var unchecked_ = await FashionMnist.LocateAsync(FashionMnistSplit.Test, new FashionMnistOptions { ExplicitDirectory = dir, VerifyChecksums = false });
            Assert.Equal(2, unchecked_.Load(FashionMnistSplit.Test).Images.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Rebuilds the official .gz: gzip header with FNAME and the original MTIME, then Debian's deflate stream.</summary>
    private static byte[] OfficialFromDebian(FashionMnistFile file, uint mtime)
    {
        byte[] debian = File.ReadAllBytes(Path.Combine(DebianDir, file.FileName));
        Assert.Equal(0, debian[3]); // Debian's header has no flags (no FNAME)
        byte[] name = Encoding.ASCII.GetBytes(file.RawFileName + "\0");
        var header = new byte[10];
        header[0] = 0x1f;
        header[1] = 0x8b;
        header[2] = 8;
        header[3] = 8; // FNAME
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), mtime);
        header[9] = 3; // Unix
        return [.. header, .. name, .. debian.AsSpan(10)];
    }

    private sealed class FakeMirrors(Dictionary<string, byte[]> files) : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            lock (Requests)
            {
                Requests.Add(uri);
            }

            string name = uri.Segments[^1];
            var response = uri.Host switch
            {
                "broken.invalid" => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable),
                "corrupt.invalid" => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(files[name][..^100]) },
                _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(files[name]) },
            };
            return Task.FromResult(response);
        }
    }
}
