using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.KFashion;

namespace Otchatsa.Tests.KFashion;

public sealed class KFashionImportTests
{
    [Theory]
    [InlineData("girlis_906_01.jpg", "girlis", "girlis:906")]
    [InlineData("batch_GATE_027_11.jpg", "GATE", "gate:027")]
    [InlineData("Gaudi.Oblanc_015_03.jpg", "Gaudi.Oblanc", "gaudi.oblanc:015")]
    [InlineData("Hanna_368_img.jpg", "Hanna", "hanna:368")]
    [InlineData("jk1501c8c-jk1501c8c-s_1.jpg", "jk1501c8c-jk1501c8c-s", "jk1501c8c-jk1501c8c-s:1")]
    [InlineData("1107-14428-14428 (2-1)-20200129-1 (2014).JPG", "", "?:1107")]
    [InlineData("ops4439k03-ops4439k03_s_7.jpg", "", "?:ops4439k03")]
    [InlineData("u_152350246924298900_880703049.jpg", "", "?:u_152350246924298900_880703049.jpg")]
    [InlineData("DHP02418.JPG", "", "?:dhp02418.jpg")]
    public void The_mall_and_product_come_from_the_original_file_name(string fileName, string mall, string product)
    {
        Assert.Equal((mall, product), KFashionFileName.Parse(fileName));
    }

    [SkippableFact]
    public void Importing_the_sample_labels_reproduces_the_shared_manifest()
    {
        Skip.If(TestPaths.KFashion is null, TestPaths.KFashionMissing);
        var root = TestPaths.KFashion!;
        var expected = CatalogManifest.Read(Path.Combine(root, "manifest.csv")).ToDictionary(r => r.Image);

        // Read only: nothing is written into the shared data folder.
        var (rows, summary) = KFashionImporter.Read(root, root);

        Assert.Equal(expected.Count, rows.Count);
        Assert.Empty(summary.Skipped);
        foreach (var row in rows)
        {
            Assert.True(expected.TryGetValue(row.Image, out var want), $"{row.Image} is not in the manifest");
            Assert.Equal(want.Mall ?? "", row.Mall);
            Assert.Equal(want.Product, row.Product);
            Assert.Equal(want.Style, row.Style);
            Assert.Equal(want.Substyle, row.Substyle);
            Assert.Equal(want.Garments, row.Garments);
        }
    }

    [SkippableFact]
    public void An_imported_manifest_can_be_read_as_a_catalog()
    {
        Skip.If(TestPaths.KFashion is null, TestPaths.KFashionMissing);
        var dir = Directory.CreateTempSubdirectory("otchatsa-import-");
        try
        {
            var csv = Path.Combine(dir.FullName, "manifest.csv");
            var summary = KFashionImporter.Import(TestPaths.KFashion!, csv);

            var rows = CatalogManifest.Read(csv);
            Assert.Equal(summary.Rows, rows.Count);
            Assert.All(rows, r => Assert.True(File.Exists(r.ResolvedPath), r.Image));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void Garment_boxes_are_scaled_to_the_file_s_pixels()
    {
        Skip.If(TestPaths.KFashion is null, TestPaths.KFashionMissing);
        var label = KFashionLabel.Read(Path.Combine(TestPaths.KFashion!, "labels", "1028690.json"));

        var union = label.GarmentUnion(390, 512);

        Assert.Equal("레트로", label.Style);
        Assert.Equal(["아우터"], label.Garments);
        Assert.NotNull(union);
        Assert.InRange(union!.Value.Left, 222 * 390f / 800 - 1, 222 * 390f / 800 + 1);
        Assert.True(union.Value.Right <= 390);
    }
}
