using EnergyToToken.Catalog;

namespace EnergyToToken.Tests.Catalog;

public sealed class CatalogTests
{
    private static readonly Catalogs Bundled = Catalogs.Load();

    [Theory]
    [InlineData("llama-3.1-8b")]
    [InlineData("llama-3.1-70b")]
    [InlineData("llama-65b")]
    [InlineData("mixtral-8x7b")]
    [InlineData("deepseek-v3")]
    [InlineData("qwen2.5-7b")]
    [InlineData("qwen2.5-7b-1m")]
    public void Required_models_are_bundled_with_a_source(string name) =>
        Assert.False(string.IsNullOrWhiteSpace(Bundled.Model(name).Source));

    [Theory]
    [InlineData("h100-sxm")]
    [InlineData("h200")]
    [InlineData("a100-sxm-80gb")]
    [InlineData("b200")]
    [InlineData("mi300x")]
    [InlineData("l40s")]
    public void Required_accelerators_are_bundled_with_a_source(string name)
    {
        var accelerator = Bundled.Accelerator(name);
        Assert.False(string.IsNullOrWhiteSpace(accelerator.Source));
        Assert.True(accelerator.PeakFlopPerSecond("bf16") > 0);
    }

    [Fact]
    public void Kappa_of_a_dense_mha_model_is_the_weight_term_plus_the_attention_term()
    {
        // 2·65.2e9 + 2·80 layers·2048 tokens·64 heads·(128 + 128)
        Close.To(2 * 65.2e9 + 2.0 * 80 * 2048 * 64 * 256, Bundled.Model("llama-65b").KappaFlopPerToken(2048));
    }

    [Fact]
    public void Kappa_of_a_moe_model_counts_only_active_parameters()
    {
        Close.To(2 * 12.9e9 + 2.0 * 32 * 4096 * 32 * 256, Bundled.Model("mixtral-8x7b").KappaFlopPerToken(4096));
    }

    [Fact]
    public void Kappa_of_an_mla_model_uses_its_query_key_and_value_widths()
    {
        Close.To(2 * 37e9 + 2.0 * 61 * 1000 * 128 * (192 + 128), Bundled.Model("deepseek-v3").KappaFlopPerToken(1000));
    }

    [Fact]
    public void Kv_cache_bytes_follow_the_attention_kind()
    {
        Close.To(2.0 * 32 * 8 * 128 * 2, Bundled.Model("llama-3.1-8b").KvCacheBytesPerToken(2));    // GQA: 131,072
        Close.To(2.0 * 80 * 64 * 128 * 2, Bundled.Model("llama-65b").KvCacheBytesPerToken(2));      // MHA: 2,621,440
        Close.To(61.0 * (512 + 64) * 2, Bundled.Model("deepseek-v3").KvCacheBytesPerToken(2));       // MLA: 70,272
    }

    [Fact]
    public void Unknown_names_list_what_is_known()
    {
        var ex = Assert.Throws<EnergyToTokenException>(() => Bundled.Model("llama-4"));
        Assert.Contains("Unknown model 'llama-4'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("llama-3.1-8b", ex.Message, StringComparison.Ordinal);
        var precision = Assert.Throws<EnergyToTokenException>(() => Bundled.Accelerator("h100-sxm").PeakFlopPerSecond("fp4"));
        Assert.Contains("bf16", precision.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_catalog_adds_and_replaces_entries()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-catalog-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, """
            models:
              - name: tiny-1b
                totalParameters: 1.0e9
                activeParameters: 1.0e9
                layers: 16
                hiddenSize: 2048
                attentionHeads: 16
                keyValueHeads: 4
                headDim: 128
                attention: gqa
                maxContext: 8192
                source: my config.json
            accelerators:
              - name: h100-sxm
                peakDenseFlopPerSecond: { bf16: 800e12 }
                memoryBytes: 80e9
                memoryBandwidthBytesPerSecond: 3.35e12
                powerLimitWatts: 500
                source: our capped H100s, measured
            """);
        try
        {
            var catalogs = Catalogs.Load([path]);
            Close.To(2e9 + 2.0 * 16 * 100 * 16 * 256, catalogs.Model("tiny-1b").KappaFlopPerToken(100));
            Assert.Equal(500, catalogs.Accelerator("H100-SXM").PowerLimitWatts);
            Assert.Equal(800e12, catalogs.Accelerator("h100-sxm").PeakFlopPerSecond("BF16"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_user_catalog_with_bad_entries_lists_every_problem()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-catalog-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "models": [ { "name": "bad", "totalParameters": 1e9, "activeParameters": 2e9, "layers": 0, "hiddenSize": 1, "attentionHeads": 8, "keyValueHeads": 8, "headDim": 64, "attention": "mla", "maxContext": 10, "source": "" } ] }""");
        try
        {
            var ex = Assert.Throws<EnergyToTokenException>(() => Catalogs.Load([path]));
            Assert.Contains("activeParameters must be positive and at most totalParameters", ex.Message, StringComparison.Ordinal);
            Assert.Contains("layers must be a positive integer (was 0)", ex.Message, StringComparison.Ordinal);
            Assert.Contains("MLA attention needs kvLatentRank", ex.Message, StringComparison.Ordinal);
            Assert.Contains("source is required", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_unknown_field_in_a_catalog_names_its_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-catalog-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "models:\n  - name: x\n    parameters: 1\n");
        try
        {
            var ex = Assert.Throws<EnergyToTokenException>(() => Catalogs.Load([path]));
            Assert.Contains("parameters", ex.Message, StringComparison.Ordinal);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
