using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Host.Tests.Patching;
using AutoCircuit.Testing;
using AutoCircuit.Tool.Cli;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Gpu;

/// <summary>
/// CUDA only (skipped with the reason elsewhere; tests/gpu/run-gpu-checks.sh runs them): the same model on the GPU and
/// on the CPU gives the same outputs, patched outputs, mask gradients and metrics; every buffer of the engine lives on
/// the GPU; half-precision source buffers stay close to float32; the command line runs end to end with --device cuda.
/// </summary>
[Trait("Category", "Gpu")]
[Collection(nameof(SeededCollection))]
public sealed class CudaTests
{
    // float32 on two devices: different kernels (cuBLAS vs MKL) and summation orders; seen on CPU vs CPU: 0.
    private const double Atol = 1e-4;

    [CudaTheory]
    [InlineData("gpt2")]
    [InlineData("llama-gqa")]
    public void Forward_OnDevice_EqualsCpu(string kind)
    {
        using var cpu = TransformerPatchingTests.Model(kind);
        using var gpu = TransformerPatchingTests.Model(kind);
        gpu.MoveTo(TestDevice.Current);
        using var tokens = TransformerPatchingTests.Tokens(1);
        using var onDevice = tokens.to(TestDevice.Current);

        using var expected = cpu.Forward(tokens);
        using var actual = gpu.Forward(onDevice);

        Assert.Equal(TestDevice.Current.type, actual.device_type);
        TensorAssert.AllClose(expected, actual, Atol, what: $"{kind} logits");
    }

    [CudaTheory]
    [InlineData("gpt2", true)]
    [InlineData("llama-gqa", false)]
    public void PatchedForwardAndMaskGradients_OnDevice_EqualCpuReference(string kind, bool separateQkv)
    {
        var device = TestDevice.Current;
        using var cpuModel = TransformerPatchingTests.Model(kind);
        using var gpuModel = TransformerPatchingTests.Model(kind);
        gpuModel.MoveTo(device);
        using var reference = PatchableModel.Create(cpuModel, new GraphOptions(SeparateQkv: separateQkv), new PatchOptions(ReferencePatching: true));
        using var fast = PatchableModel.Create(gpuModel, new GraphOptions(SeparateQkv: separateQkv));
        using var clean = TransformerPatchingTests.Tokens(1);
        using var corrupt = TransformerPatchingTests.Tokens(2);

        var masks = RandomMasks(reference, 3);
        using (torch.no_grad())
        {
            foreach (var (name, value) in masks)
            {
                reference.Masks[name].copy_(value);
                fast.Masks[name].copy_(value);
            }
        }

        using var expected = Patched(reference, clean, corrupt);
        using var actual = Patched(fast, clean.to(device), corrupt.to(device));
        TensorAssert.AllClose(expected, actual, Atol, what: $"{kind} patched output");

        var expectedGrads = MaskGradients(reference, clean, corrupt);
        var actualGrads = MaskGradients(fast, clean.to(device), corrupt.to(device));
        Assert.Equal(PatchForwardMode.ZeroMaskGradient, fast.LastForwardMode);
        foreach (var (name, g) in expectedGrads)
        {
            Assert.Equal(device.type, actualGrads[name].device_type);
            TensorAssert.AllClose(g, actualGrads[name], Atol, rtol: 1e-4, what: $"{kind} mask gradient {name}");
        }
    }

    [CudaFact]
    public void EngineBuffers_LiveOnTheDevice()
    {
        var device = TestDevice.Current;
        using var transformer = TransformerPatchingTests.Model("gpt2");
        transformer.MoveTo(device);
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        using var clean = TransformerPatchingTests.Tokens(1).to(device);
        using var corrupt = TransformerPatchingTests.Tokens(2).to(device);

        Assert.All(model.Masks.Values, m => Assert.Equal(device.type, m.device_type));
        using var patch = model.SourceAblations(corrupt);
        Assert.Equal(device.type, patch.device_type);
        using (torch.inference_mode())
        using (model.PatchMode(patch))
        {
            using var output = model.Forward(clean);
            Assert.Equal(device.type, model.ActivePatchScope!.InferenceDiff!.device_type);
            Assert.Equal(device.type, output.device_type);
        }

        using (model.TrainMaskMode())
        using (model.PatchMode(patch))
        {
            model.SetAllMasks(0.5);
            using var output = model.Forward(clean);
            Assert.Equal(device.type, model.ActivePatchScope!.CurrSrcOuts!.device_type);
        }
    }

    // Not in the CPU dry run: half buffers are refused on the CPU (tested in BufferTypeTests).
    [CudaDeviceTheory]
    [InlineData("bfloat16")]
    [InlineData("float16")]
    public void HalfPrecisionBuffers_CloseToFloat32(string type)
    {
        var device = TestDevice.Current;
        using var a = TransformerPatchingTests.Model("gpt2");
        using var b = TransformerPatchingTests.Model("gpt2");
        a.MoveTo(device);
        b.MoveTo(device);
        using var full = PatchableModel.Create(a, new GraphOptions());
        using var half = PatchableModel.Create(b, new GraphOptions(), new PatchOptions(BufferDType: DTypes.ParseBufferType(type)));
        using var clean = TransformerPatchingTests.Tokens(1).to(device);
        using var corrupt = TransformerPatchingTests.Tokens(2).to(device);
        full.SetAllMasks(0.5);
        half.SetAllMasks(0.5);

        using var expected = Patched(full, clean, corrupt);
        using var actual = Patched(half, clean, corrupt);

        Assert.Equal(ScalarType.Float32, actual.dtype);
        // bfloat16 keeps 8 significant bits (float16 11): patches rounded to ~0.4%, through three layers.
        TensorAssert.AllClose(expected, actual, 0.05, rtol: 0.05, what: $"{type} buffers");
    }

    [CudaFact]
    public async Task Cli_RunAndBench_OnCuda()
    {
        var dir = Directory.CreateTempSubdirectory("ac-cuda-").FullName;
        try
        {
            var device = TestDevice.Current.type == DeviceType.CUDA ? TestDevice.Requested : "cpu";
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await CommandLine.InvokeAsync(
                ["run", "--model", "micro", "--device", device, "-a", "mask-gradient", "-a", "acdc:tau-exps=-2,tau-bases=1",
                 "--max-patch-memory", "1KB", "--out", Path.Combine(dir, "run")],
                output, error);
            Assert.True(code == 0, error.ToString());
            using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "run", "run.json")));
            Assert.StartsWith(device, run.RootElement.GetProperty("device").GetString(), StringComparison.Ordinal);

            using var benchOut = new StringWriter();
            using var benchErr = new StringWriter();
            code = await CommandLine.InvokeAsync(["bench", "--quick", "--json", "-r", "1", "--device", device], benchOut, benchErr);
            Assert.True(code == 0, benchErr.ToString());
            using var bench = JsonDocument.Parse(benchOut.ToString());
            Assert.StartsWith(device, bench.RootElement.GetProperty("machine").GetProperty("device").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Dictionary<string, Tensor> RandomMasks(PatchableModel model, int seed)
    {
        using var gen = new Generator((ulong)seed);
        return model.Graph.DestModules.ToDictionary(m => m.ModuleName, m => torch.rand(m.MaskShape, generator: gen));
    }

    private static Tensor Patched(PatchableModel model, Tensor clean, Tensor corrupt)
    {
        using var inference = torch.inference_mode();
        using var patch = model.SourceAblations(corrupt);
        using (model.PatchMode(patch))
        {
            return model.Forward(clean);
        }
    }

    private static Dictionary<string, Tensor> MaskGradients(PatchableModel model, Tensor clean, Tensor corrupt) =>
        SquaredOutputGradients.Of(model, clean, corrupt);
}
