using System.Text;
using Otchatsa.Catalog;
using Otchatsa.Indexing;
using Otchatsa.Tests.Support;

namespace Otchatsa.Tests.Catalog;

public sealed class CatalogManifestTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private IReadOnlyList<CatalogRow> ReadText(string csv, bool bom = false)
    {
        var path = _dir.File("manifest.csv");
        File.WriteAllText(path, csv, new UTF8Encoding(bom));
        return CatalogManifest.Read(path);
    }

    [Fact]
    public void Quoted_fields_keep_their_commas_quotes_and_line_breaks()
    {
        var rows = ReadText("image,mall,title,price\n" +
                            "\"images/a,1.jpg\",girlis,\"Coat, \"\"wool\"\"\nlong\",\"29,000원\"\n");

        var row = Assert.Single(rows);
        Assert.Equal("images/a,1.jpg", row.Image);
        Assert.Equal("Coat, \"wool\"\nlong", row.Title);
        Assert.Equal("29,000원", row.Price);
    }

    [Fact]
    public void A_byte_order_mark_does_not_hide_the_first_column()
    {
        var rows = ReadText("image,mall\nx.jpg,m\n", bom: true);

        Assert.Equal("x.jpg", Assert.Single(rows).Image);
    }

    [Fact]
    public void A_byte_order_mark_left_in_a_text_reader_is_tolerated_too()
    {
        var rows = CatalogManifest.Read(new StringReader("\uFEFFimage,mall\nx.jpg,m\n"), _dir.Path);

        Assert.Equal("m", Assert.Single(rows).Mall);
    }

    [Fact]
    public void Header_names_match_regardless_of_case_and_spaces_and_unknown_columns_are_ignored()
    {
        var rows = ReadText(" Image ,extra,MALL,Style\nx.jpg,zzz,m,로맨틱\n");

        var row = Assert.Single(rows);
        Assert.Equal(("m", "로맨틱"), (row.Mall, row.Style));
    }

    [Theory]
    [InlineData("image,style\nx.jpg,retro\n", "'mall'")]
    [InlineData("mall,style\nm,retro\n", "'image'")]
    public void A_missing_required_column_throws_a_message_naming_it(string csv, string named)
    {
        var ex = Assert.Throws<CatalogManifestException>(() => ReadText(csv));

        Assert.Contains(named, ex.Message);
        Assert.Contains("found:", ex.Message);
    }

    [Fact]
    public void An_empty_file_throws_a_clear_error()
    {
        var ex = Assert.Throws<CatalogManifestException>(() => ReadText(""));

        Assert.Contains("empty", ex.Message);
    }

    [Fact]
    public void A_missing_file_throws_a_clear_error()
    {
        var ex = Assert.Throws<CatalogManifestException>(() => CatalogManifest.Read(_dir.File("nope.csv")));

        Assert.Contains("not found", ex.Message);
    }

    [Fact]
    public void Malformed_quoting_throws_instead_of_swallowing_the_rest_of_the_file()
    {
        Assert.Throws<CatalogManifestException>(() => ReadText("image,mall\n\"a.jpg\"x,m\nb.jpg,m\n"));
    }

    [Fact]
    public void Relative_paths_resolve_against_the_manifest_folder_and_climbing_out_is_allowed_but_normalised()
    {
        var rows = ReadText("image,mall\nimages/a.jpg,m\n../shared/b.jpg,m\nimages\\c.jpg,m\n");

        Assert.Equal(Path.Combine(_dir.Path, "images", "a.jpg"), rows[0].ResolvedPath);
        Assert.Equal(Path.GetFullPath(Path.Combine(_dir.Path, "..", "shared", "b.jpg")), rows[1].ResolvedPath);
        Assert.DoesNotContain("..", rows[1].ResolvedPath);
        Assert.Equal(Path.Combine(_dir.Path, "images", "c.jpg"), rows[2].ResolvedPath);
        Assert.All(rows, r => Assert.Null(r.Url));
        Assert.All(rows, r => Assert.True(r.IsUsable));
    }

    [Fact]
    public void Http_and_https_images_become_urls_without_a_local_path()
    {
        var rows = ReadText("image,mall\nhttp://cdn.example.com/a.jpg,m\nHTTPS://cdn.example.com/b.jpg?w=512,m\n");

        Assert.All(rows, r => Assert.True(r.IsRemote && r.IsUsable && r.ResolvedPath is null));
        Assert.Equal("https://cdn.example.com/b.jpg?w=512", rows[1].Url!.ToString());
        Assert.Equal("HTTPS://cdn.example.com/b.jpg?w=512", rows[1].Image);
    }

    [Theory]
    [InlineData("file:///etc/passwd", "file")]
    [InlineData("ftp://example.com/a.jpg", "ftp")]
    [InlineData("data:image/png;base64,AAAA", "data")]
    [InlineData("javascript:alert(1)", "javascript")]
    [InlineData("gopher://example.com/", "gopher")]
    public void Other_url_schemes_are_kept_as_rejected_rows_with_a_reason(string image, string scheme)
    {
        var rows = ReadText($"image,mall\n\"{image}\",m\nok.jpg,m\n");

        Assert.Equal(2, rows.Count);
        Assert.False(rows[0].IsUsable);
        Assert.Contains($"'{scheme}:'", rows[0].Rejection);
        Assert.Null(rows[0].ResolvedPath);
        Assert.Null(rows[0].Url);
        Assert.True(rows[1].IsUsable);
    }

    [Fact]
    public void Protocol_relative_urls_and_empty_image_cells_are_rejected()
    {
        var rows = ReadText("image,mall\n//cdn.example.com/a.jpg,m\n,m\n");

        Assert.All(rows, r => Assert.False(r.IsUsable));
        Assert.Contains("protocol-relative", rows[0].Rejection);
        Assert.Contains("empty", rows[1].Rejection);
    }

    [Fact]
    public void Rows_without_a_mall_are_kept_but_marked_as_not_recommendable()
    {
        var rows = ReadText("image,mall\na.jpg,\nb.jpg,  \nc.jpg,m\n");

        Assert.Equal([false, false, true], rows.Select(r => r.HasMall));
        Assert.All(rows, r => Assert.True(r.IsUsable));
    }

    [Fact]
    public void Optional_columns_are_read_and_garments_split_on_pipes()
    {
        var rows = ReadText("image,mall,style,substyle,title,url,price,mall_url,product,garments\n" +
                            "a.jpg,m,로맨틱,리조트,Dress,https://m.example/p/1,\"39,000\",https://m.example/,m:1, 상의 | 하의 ||\n");

        var row = Assert.Single(rows);
        Assert.Equal("로맨틱", row.Style);
        Assert.Equal("리조트", row.Substyle);
        Assert.Equal("Dress", row.Title);
        Assert.Equal("https://m.example/p/1", row.ProductUrl);
        Assert.Equal("39,000", row.Price);
        Assert.Equal("https://m.example/", row.MallUrl);
        Assert.Equal("m:1", row.Product);
        Assert.Equal(["상의", "하의"], row.Garments);
        Assert.Empty(row.Warnings);
    }

    [Fact]
    public void Product_links_that_are_not_http_are_dropped_with_a_warning()
    {
        var row = Assert.Single(ReadText("image,mall,url,mall_url\na.jpg,m,javascript:alert(1),/relative\n"));

        Assert.Null(row.ProductUrl);
        Assert.Null(row.MallUrl);
        Assert.Equal(2, row.Warnings.Length);
        Assert.True(row.IsUsable);
    }

    [Fact]
    public void Row_numbers_match_spreadsheet_rows_counting_the_header()
    {
        var rows = ReadText("image,mall\na.jpg,m\nb.jpg,m\n");

        Assert.Equal([2, 3], rows.Select(r => r.RowNumber));
    }

    [SkippableFact]
    public void The_kfashion_sample_manifest_reads_as_1518_local_rows_with_malls_products_and_garments()
    {
        var dir = TestPaths.KFashion;
        Skip.If(dir is null, TestPaths.KFashionMissing);

        var rows = CatalogManifest.Read(Path.Combine(dir!, "manifest.csv"));

        Assert.Equal(1518, rows.Count);
        Assert.All(rows, r => Assert.True(r.IsUsable && !r.IsRemote));
        Assert.All(rows, r => Assert.StartsWith(Path.Combine(dir!, "images"), r.ResolvedPath));
        Assert.True(File.Exists(rows[0].ResolvedPath));
        Assert.Equal(394, rows.Where(r => r.HasMall).Select(r => r.Mall).Distinct().Count());
        Assert.Contains(rows, r => !r.HasMall);
        Assert.All(rows, r => Assert.NotNull(r.Product));
        Assert.All(rows, r => Assert.NotEmpty(r.Garments));
        Assert.Equal(["레트로", "로맨틱", "리조트"], rows.Select(r => r.Style!).Distinct().Order(StringComparer.Ordinal));
        Assert.Contains(rows, r => r.Garments.Length > 1);
    }
}
