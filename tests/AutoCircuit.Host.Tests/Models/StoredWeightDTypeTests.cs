using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Patching;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// <c>--weight-dtype</c>: a bfloat16 checkpoint's weight matrices kept in bfloat16 (mapped from the file) while the model
/// computes in float32. Outputs must equal those of the float32 copy bit for bit, mask gradients to float32 rounding, and
/// the products' own gradients (<see cref="StoredWeights"/>) those of autograd on the converted weight.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class StoredWeightDTypeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-weight-dtype-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Families => FamilyPatchingTests.Families;

    private string Bf16Checkpoint(string name)
    {
        var folder = Path.Combine(_dir, name);
        var cfg = HfConfig.Load(Path.Combine(ModelFixtures.Folder(name), "config.json"));
        RandomCheckpoint.Write(cfg, folder, ScalarType.BFloat16, seed: 11, shardBytes: 4096);
        return folder;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Load_Bf16WeightsFloat32Compute_MatricesMappedNormsFloat32SameLogits(string name)
    {
        var folder = Bf16Checkpoint(name);
        using var mixed = HfCheckpoint.Load(folder, ScalarType.Float32, ScalarType.BFloat16).Model;
        using var copy = HfCheckpoint.Load(folder, ScalarType.Float32).Model;

        Assert.Equal(ScalarType.Float32, mixed.DType);
        Assert.Equal(ScalarType.BFloat16, mixed.WeightDType);
        Assert.Contains("float32 compute, weights bfloat16", mixed.Description, StringComparison.Ordinal);
        var parameters = mixed.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        // The embedding is stored as it is used in every family; the others are for the families that store them so
        // (GPT-2's fused Conv1D and GPT-NeoX's fused QKV are split at load, i.e. copied, in bfloat16).
        var untransformed = name is "gpt2-random" or "gpt_neox-random" ? new[] { "embed.W_E" } : ["embed.W_E", "blocks.0.attn.W_Q", "blocks.1.mlp.W_in"];
        foreach (var n in untransformed)
        {
            Assert.Equal(ScalarType.BFloat16, parameters[n].dtype);
            Assert.True(parameters[n].storage_offset() > 0, $"{n}: storage offset {parameters[n].storage_offset()}: a copy, not the file's pages");
        }

        Assert.Equal(ScalarType.BFloat16, parameters["blocks.0.attn.W_O"].dtype); // transformed (split by head), copied in bfloat16
        Assert.Equal(ScalarType.BFloat16, parameters["blocks.0.attn.W_Q"].dtype);
        Assert.Equal(ScalarType.Float32, parameters["ln_final.w"].dtype);

        using var _ = torch.inference_mode();
        using var tokens = FamilyPatchingTests.Tokens(4).cpu();
        using var expected = copy.Forward(tokens);
        using var actual = mixed.Forward(tokens);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        TensorAssert.Equal(expected, actual, $"{name}: logits with bfloat16 weights in float32 vs a float32 copy");
    }

    [Theory]
    [InlineData("llama-random-llama3", true, true)]
    [InlineData("llama-random-llama3", true, false)]
    [InlineData("qwen2-random", true, true)]
    [InlineData("gemma2-random", true, true)]
    [InlineData("gemma2-random", false, true)]
    [InlineData("gpt_neox-random", true, true)]
    [InlineData("olmo2-random", true, false)]
    [InlineData("gpt2-random", true, true)]
    public void MaskGradient_Bf16WeightsFloat32Compute_EqualsTheFloat32Copy(string name, bool factorized, bool separateQkv)
    {
        var folder = Bf16Checkpoint(name);
        var options = new GraphOptions(factorized, null, separateQkv);
        foreach (var reference in new[] { false, true })
        {
            using var mixedModel = HfCheckpoint.Load(folder, ScalarType.Float32, ScalarType.BFloat16).Model;
            using var copyModel = HfCheckpoint.Load(folder, ScalarType.Float32).Model;
            using var mixed = PatchableModel.Create(mixedModel, options, new PatchOptions(ReferencePatching: reference));
            using var copy = PatchableModel.Create(copyModel, options, new PatchOptions(ReferencePatching: reference));

            var expected = MaskGradients(copy);
            var actual = MaskGradients(mixed);
            var largest = 0.0;
            foreach (var (module, e) in expected)
            {
                // The input gradients are the same sums as autograd's for the float32 copy, in another op order.
                TensorAssert.AllClose(e, actual[module], 1e-5, rtol: 1e-5, what: $"{name} (reference patching {reference}): mask gradient of {module}");
                largest = Math.Max(largest, e.abs().max().ToDouble());
                e.Dispose();
                actual[module].Dispose();
            }

            Assert.True(largest > 1e-3, "the mask gradients must not all vanish");
        }
    }

    private static Dictionary<string, Tensor> MaskGradients(PatchableModel model)
    {
        using var clean = FamilyPatchingTests.Tokens(1).cpu();
        using var corrupt = FamilyPatchingTests.Tokens(2).cpu();
        return SquaredOutputGradients.Of(model, clean, corrupt);
    }

    public static TheoryData<string> Products => new() { "linear", "linear-chunks", "batched", "einsum", "einsum-grouped" };

    [Theory]
    [MemberData(nameof(Products))]
    public void Product_Gradients_EqualAutogradOnTheConvertedWeight(string kind)
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(3);
        var (xShape, wShape, product) = kind switch
        {
            "linear" => (new long[] { 2, 5, 8 }, new long[] { 12, 8 }, StoredWeights.WeightProduct.Linear),
            "linear-chunks" => (new long[] { 2, 5, 8 }, new long[] { 13, 8 }, StoredWeights.WeightProduct.LinearInChunks(24)), // 3 rows a chunk, a short last one
            "batched" => (new long[] { 3, 7, 8 }, new long[] { 3, 4, 8 }, StoredWeights.WeightProduct.BatchedLinear),
            "einsum" => (new long[] { 2, 5, 3, 8 }, new long[] { 3, 4, 8 }, StoredWeights.WeightProduct.Einsum("bthd,hed->bthe")),
            "einsum-grouped" => (new long[] { 2, 5, 2, 3, 8 }, new long[] { 2, 4, 8 }, StoredWeights.WeightProduct.Einsum("btgrd,ged->btgre")),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        var w = torch.randn(wShape, generator: gen).to_type(ScalarType.BFloat16).requires_grad_();
        var x = torch.randn(xShape, generator: gen).requires_grad_();
        var y = StoredWeights.MixedProduct.apply(x, w, product);
        var upstream = torch.randn(y.shape, generator: gen);
        (y * upstream).sum().backward();

        // Autograd through the same product on a float32 copy of the weight.
        var w32 = w.detach().to_type(ScalarType.Float32).requires_grad_();
        var x2 = x.detach().clone().requires_grad_();
        var expected = kind switch
        {
            "linear" or "linear-chunks" => nn.functional.linear(x2, w32),
            "batched" => torch.bmm(x2, w32.transpose(1, 2)),
            "einsum" => torch.einsum("bthd,hed->bthe", x2, w32),
            _ => torch.einsum("btgrd,ged->btgre", x2, w32),
        };
        (expected * upstream).sum().backward();

        TensorAssert.AllClose(expected, y, 1e-5, 1e-5, $"{kind}: value");
        TensorAssert.AllClose(x2.grad!, x.grad!, 1e-5, 1e-5, $"{kind}: input gradient");
        Assert.Equal(ScalarType.BFloat16, w.grad!.dtype);
        using var wGradExpected = w32.grad!.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        using var wGrad = w.grad!.to_type(ScalarType.Float32);
        TensorAssert.AllClose(wGradExpected, wGrad, 1e-2, 1e-2, $"{kind}: weight gradient (bfloat16)");
    }

    [Fact]
    public void Product_FrozenWeight_NoWeightGradientAndInputGradientOnly()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(5);
        var w = torch.randn([6, 4], generator: gen).to_type(ScalarType.BFloat16);
        var x = torch.randn([3, 4], generator: gen).requires_grad_();
        var y = StoredWeights.Linear(x, w, null);
        y.sum().backward();
        Assert.Null(w.grad);
        using var expected = w.to_type(ScalarType.Float32).sum(0, keepdim: true).repeat(3, 1);
        TensorAssert.AllClose(expected, x.grad!, 1e-6, 0, "d sum(x Wᵀ) / dx = column sums of W");
    }

    [Fact]
    public void Product_InferenceThenGradientOnOneThread_TheConversionBufferServesBoth()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(9);
        var big = torch.randn([40, 8], generator: gen).to_type(ScalarType.BFloat16); // the buffer grows to it here...
        var w = torch.randn([6, 8], generator: gen).to_type(ScalarType.BFloat16);
        var x = torch.randn([3, 8], generator: gen);
        Tensor first;
        using (torch.inference_mode())
        {
            StoredWeights.Linear(x, big, null);
            first = StoredWeights.Linear(x, w, null); // ...and serves a smaller weight after it
        }

        var xg = x.clone().requires_grad_();
        var y = StoredWeights.Linear(xg, w, null); // outside inference mode: the buffer must be writable here
        y.sum().backward();
        using var expected = nn.functional.linear(x, w.to_type(ScalarType.Float32));
        TensorAssert.Equal(expected, first, "inference product");
        TensorAssert.Equal(expected, y.detach(), "gradient pass product");
        using var colSums = w.to_type(ScalarType.Float32).sum(0, keepdim: true).repeat(3, 1);
        TensorAssert.AllClose(colSums, xg.grad!, 1e-6, 0, "input gradient after an inference pass");
    }

    [Fact]
    public void Load_WeightDTypeOnAModelThatIsNotAHuggingFaceCheckpoint_RefusedNamingTheOption()
    {
        var e = Assert.Throws<AutoCircuitException>(() => ModelCatalog.Load("toy-induction", torch.CPU, dtype: ScalarType.Float32, weightDType: ScalarType.BFloat16).Dispose());
        Assert.Contains("--weight-dtype bfloat16", e.Message, StringComparison.Ordinal);
        Assert.Contains("Hugging Face", e.Message, StringComparison.Ordinal);

        var parse = Assert.Throws<AutoCircuitException>(() => ModelCatalog.ParseWeightDType("int8"));
        Assert.Equal("--weight-dtype int8: expected float32, bfloat16 or float16.", parse.Message);
        Assert.Null(ModelCatalog.ParseWeightDType(null));
    }
}
