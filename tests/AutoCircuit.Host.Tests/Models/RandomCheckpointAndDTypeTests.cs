using System.Text.Json;
using AutoCircuit.Bench;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// Random checkpoints of a family's shape in Hugging Face layout (sharded, bfloat16), reading a safetensors tensor
/// straight into a parameter in chunks (with conversion), and computing in bfloat16/float16 (<c>--dtype</c>).
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class RandomCheckpointAndDTypeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-random-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HfConfig FixtureConfig(string name) => HfConfig.Load(Path.Combine(ModelFixtures.Folder(name), "config.json"));

    [Theory]
    [InlineData("qwen2-random")]
    [InlineData("gemma2-random")]
    [InlineData("gpt_neox-random")]
    [InlineData("llama-random-llama3")]
    public void Write_SmallShards_IndexNamesEveryTensorAndTheLoaderReadsThemAll(string name)
    {
        var folder = Path.Combine(_dir, name);
        var bytes = RandomCheckpoint.Write(FixtureConfig(name), folder, ScalarType.BFloat16, seed: 5, shardBytes: 4096);

        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "model.safetensors.index.json")));
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        var shards = Directory.GetFiles(folder, "model-*-of-*.safetensors").Select(Path.GetFileName).Order().ToList();
        Assert.True(shards.Count > 1, $"{shards.Count} shard(s)");
        Assert.Equal(shards, map.Values.Distinct().Order());
        Assert.Equal(bytes, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());

        long stored = 0;
        foreach (var shard in shards)
        {
            using var file = SafetensorsFile.Open(Path.Combine(folder, shard!));
            Assert.All(file.Entries.Values, e => Assert.Equal(ScalarType.BFloat16, e.Type));
            Assert.All(file.Entries.Keys, k => Assert.Equal(shard, map[k]));
            stored += file.Entries.Values.Sum(e => e.End - e.Begin);
        }

        Assert.Equal(bytes, stored);

        // The loader refuses missing and unexpected tensors, so loading proves the layout is the family's.
        using var model = HfCheckpoint.Load(folder, ScalarType.BFloat16).Model;
        var parameters = model.parameters().ToList();
        Assert.All(parameters, p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var _ = torch.inference_mode();
        using var tokens = torch.tensor(new long[] { 1, 5, 9, 13, 17, 21, 25 }, [1, 7]);
        using var logits = model.Forward(tokens);
        Assert.True(logits.isfinite().all().ToBoolean(), "finite logits");
        Assert.True(logits.abs().max().ToDouble() > 0, "non-zero logits");
    }

    [Theory]
    [InlineData("qwen2-random")]
    [InlineData("gemma2-random")]
    [InlineData("llama-random-llama3")]
    public void Load_InTheStoredDType_ParametersAreTheFilesPagesCopyOnWrite(string name)
    {
        var folder = Path.Combine(_dir, name);
        RandomCheckpoint.Write(FixtureConfig(name), folder, ScalarType.BFloat16, seed: 7, shardBytes: 4096);
        using var shared = HfCheckpoint.Load(folder, ScalarType.BFloat16).Model;
        using var copied = HfCheckpoint.Load(folder, ScalarType.Float32).Model;
        var sharedParameters = shared.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = torch.no_grad();

        // Same values as the float32 copy (bfloat16 widens exactly), every parameter.
        foreach (var (n, p) in copied.named_parameters())
        {
            using var widened = sharedParameters[n].to_type(ScalarType.Float32);
            Assert.True(Same(widened, p), $"{n} differs from the copy");
        }

        // Untransformed tensors in the stored dtype are views of the mapped file: their data follows the header, so their
        // storage offset is past it; the float32 model's parameters are copies (offset 0).
        var copiedParameters = copied.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var n in new[] { "embed.W_E", "blocks.0.attn.W_Q", "blocks.1.mlp.W_in" })
        {
            Assert.True(sharedParameters[n].storage_offset() > 0, $"{n}: storage offset {sharedParameters[n].storage_offset()}, a copy");
            Assert.Equal(0, copiedParameters[n].storage_offset());
        }

        // Copy on write: changing a parameter changes neither the file nor a model loaded from it afterwards.
        var wq = sharedParameters["blocks.0.attn.W_Q"];
        using var before = wq.clone();
        wq.add_(1.0);
        Assert.False(Same(wq, before), "the parameter is writable");
        using var again = HfCheckpoint.Load(folder, ScalarType.BFloat16).Model;
        var reloaded = again.named_parameters().Single(p => p.name == "blocks.0.attn.W_Q").parameter;
        Assert.True(Same(reloaded, before), "the file changed with the parameter");
    }

    private static bool Same(Tensor a, Tensor b)
    {
        using var eq = a.eq(b);
        using var all = eq.all();
        return a.shape.SequenceEqual(b.shape) && all.ToBoolean();
    }

    [Fact]
    public void Write_NormWeightsAndBiases_FollowTheFamilysConvention()
    {
        var gemma = Path.Combine(_dir, "gemma");
        var qwen = Path.Combine(_dir, "qwen");
        RandomCheckpoint.Write(FixtureConfig("gemma2-random"), gemma, ScalarType.Float32, seed: 1);
        RandomCheckpoint.Write(FixtureConfig("qwen2-random"), qwen, ScalarType.Float32, seed: 1);

        var (g, _) = Safetensors.Read(Path.Combine(gemma, "model.safetensors"));
        var (q, _) = Safetensors.Read(Path.Combine(qwen, "model.safetensors"));

        // Gemma stores w for a norm of (1 + w): zeros make a norm of one; Qwen stores the norm weight itself.
        Assert.Equal(0.0, g.Single(kv => kv.Key == "model.norm.weight").Value.abs().max().ToDouble());
        Assert.Equal(1.0, q.Single(kv => kv.Key == "model.norm.weight").Value.min().ToDouble());
        Assert.Equal(0.0, q.Single(kv => kv.Key == "model.layers.0.self_attn.q_proj.bias").Value.abs().max().ToDouble());
        var std = q.Single(kv => kv.Key == "model.layers.0.mlp.up_proj.weight").Value.std().ToDouble();
        Assert.InRange(std, 0.015, 0.025);
        foreach (var kv in g.Concat(q))
        {
            kv.Value.Dispose();
        }
    }

    [Fact]
    public void Write_SameSeedSameBytes_OtherSeedOtherBytes()
    {
        var cfg = FixtureConfig("mistral-random");
        RandomCheckpoint.Write(cfg, Path.Combine(_dir, "a"), ScalarType.BFloat16, seed: 3);
        RandomCheckpoint.Write(cfg, Path.Combine(_dir, "b"), ScalarType.BFloat16, seed: 3);
        RandomCheckpoint.Write(cfg, Path.Combine(_dir, "c"), ScalarType.BFloat16, seed: 4);

        var a = File.ReadAllBytes(Path.Combine(_dir, "a", "model.safetensors"));
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(_dir, "b", "model.safetensors")));
        Assert.NotEqual(a, File.ReadAllBytes(Path.Combine(_dir, "c", "model.safetensors")));
    }

    [Fact]
    public void Write_IntoANonEmptyFolder_IsRefused()
    {
        var folder = Path.Combine(_dir, "full");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "keep.txt"), "x");

        var e = Assert.Throws<AutoCircuitException>(() => RandomCheckpoint.Write(FixtureConfig("qwen3-random"), folder, ScalarType.BFloat16, 0));

        Assert.Contains("not empty", e.Message, StringComparison.Ordinal);
        Assert.Equal(["keep.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteRandomCheckpoint_UnknownConfig_NamesTheKnownOnes()
    {
        var e = Assert.Throws<AutoCircuitException>(() => ModelCatalog.WriteRandomCheckpoint("llama-9", Path.Combine(_dir, "x"), ScalarType.BFloat16, 0));

        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        Assert.Contains("llama-3.1-8b", e.Message, StringComparison.Ordinal);
        Assert.Contains("gemma-2-2b", e.Message, StringComparison.Ordinal);
        Assert.Contains("qwen2.5-0.5b", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32, ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16, ScalarType.Float32)]
    public void ReadInto_InSmallChunks_EqualsReadingTheWholeTensor(ScalarType stored, ScalarType into)
    {
        var path = Path.Combine(_dir, "t.safetensors");
        using var source = torch.randn([37, 29], generator: new Generator(7)).to_type(stored);
        Safetensors.Write(path, [new("w", source), new("b", torch.ones(3))]);
        using var file = SafetensorsFile.Open(path);

        using var whole = file.Read("w").to_type(into);
        using var chunked = torch.empty([37, 29], dtype: into);
        file.ReadInto("w", chunked, chunkBytes: 100); // 50 bf16 or 25 float32 elements at a time, not a row's multiple
        using var transposed = torch.empty([29, 37], dtype: into).t(); // not contiguous: read whole, then copied

        file.ReadInto("w", transposed);

        TensorAssert.Equal(whole, chunked, $"{stored} into {into}");
        TensorAssert.Equal(whole, transposed, $"{stored} into a strided {into}");
        var e = Assert.Throws<AutoCircuitException>(() => file.ReadInto("w", torch.empty([29, 37])));
        Assert.Contains("tensor 'w' has shape [37, 29], expected [29, 37]", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Computing in bfloat16/float16 from a float32 checkpoint stays near the float32 reference. bfloat16 keeps 8 bits of
    /// mantissa (0.4% per rounding) and every projection, residual add and activation rounds, so the tiny models' logits
    /// (|logit| up to 4-13) move by up to 3.3% of their largest value (measured: 0.5-3.3%, relative L2 error 0.7-1.3%;
    /// float16 0.2%, 0.15%); bounds: 5% of the largest |logit| elementwise and 3% relative L2 for bfloat16, 8 times tighter for float16 (3 more
    /// bits). A wrong scale, norm or mask moves logits by tens of percent.
    /// </summary>
    [Theory]
    [InlineData("llama-random-llama3", ScalarType.BFloat16)]
    [InlineData("qwen2-random", ScalarType.BFloat16)]
    [InlineData("qwen3-random", ScalarType.BFloat16)]
    [InlineData("mistral-random", ScalarType.BFloat16)]
    [InlineData("gemma2-random", ScalarType.BFloat16)]
    [InlineData("gemma3-random", ScalarType.BFloat16)]
    [InlineData("gpt_neox-random", ScalarType.BFloat16)]
    [InlineData("olmo2-random", ScalarType.BFloat16)]
    [InlineData("gpt2-random", ScalarType.BFloat16)]
    [InlineData("llama-random-llama3", ScalarType.Float16)]
    public void Load_InHalfPrecision_ParametersInThatDtypeAndLogitsNearTheReference(string name, ScalarType dtype)
    {
        using var model = HfCheckpoint.Load(ModelFixtures.Folder(name), dtype).Model;
        using var reference = ModelFixtures.Reference(name);
        var c = reference.RootElement.GetProperty("cases")[0];
        using var tokens = ModelFixtures.Ids(c.GetProperty("tokens"));
        using var expected = TestFixtures.ToTensor(c.GetProperty("logits"));

        Assert.All(model.parameters(), p => Assert.Equal(dtype, p.dtype));
        using var _ = torch.inference_mode();
        using var logits = model.Forward(tokens);
        Assert.Equal(dtype, logits.dtype);
        using var actual = logits.to_type(ScalarType.Float32);

        using var diff = actual.to_type(ScalarType.Float64) - expected;
        var scale = expected.abs().max().ToDouble();
        var maxRel = diff.abs().max().ToDouble() / scale;
        var l2Rel = diff.norm().ToDouble() / expected.norm().ToDouble();
        output.WriteLine($"{name} {dtype}: max abs diff {maxRel * scale:e2} = {maxRel:p2} of max |logit| {scale:f2}; relative L2 {l2Rel:p2}");
        var factor = dtype == ScalarType.BFloat16 ? 1.0 : 1.0 / 8;
        Assert.True(maxRel <= 0.05 * factor, $"{name} in {dtype}: max |diff| {maxRel:p2} of the largest logit");
        Assert.True(l2Rel <= 0.03 * factor, $"{name} in {dtype}: relative L2 error {l2Rel:p2}");
    }

    [Fact]
    public void LoadMemoryReport_CountsTheModelInItsComputeDtype()
    {
        var folder = Path.Combine(_dir, "m");
        RandomCheckpoint.Write(FixtureConfig("qwen3-random"), folder, ScalarType.BFloat16, seed: 2);
        long parameters;
        using (var model = HfCheckpoint.Load(folder).Model)
        {
            parameters = model.parameters().Sum(p => p.numel());
        }

        var bf16 = LoadMemoryReport.Measure(folder, ScalarType.BFloat16);
        var f32 = LoadMemoryReport.Measure(folder, ScalarType.Float32);

        Assert.Equal(parameters * 2, bf16.ModelBytes);
        Assert.Equal(parameters * 4, f32.ModelBytes);
        Assert.True(bf16.Seconds > 0);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(bf16.PeakRssBytes >= bf16.BaselineRssBytes, bf16.ToString());
            Assert.Contains("x the model", bf16.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData(null, ScalarType.Float32)]
    [InlineData("bf16", ScalarType.BFloat16)]
    [InlineData("BFloat16", ScalarType.BFloat16)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData("half", ScalarType.Float16)]
    public void ParseDType_AcceptsTheNamesAndAliases(string? text, ScalarType expected) =>
        Assert.Equal(expected, ModelCatalog.ParseDType(text));

    [Fact]
    public void ParseDType_Other_IsAUsageErrorListingTheChoices()
    {
        var e = Assert.Throws<AutoCircuitException>(() => ModelCatalog.ParseDType("int8"));

        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        Assert.Equal("--dtype int8: expected float32, bfloat16 or float16.", e.Message);
    }
}
