using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Gpu;

/// <summary>Device and buffer-type choices that must fail clearly (on any machine) or work.</summary>
public sealed class DeviceSelectionTests
{
    [Fact]
    public void Resolve_Cpu_IsCpu()
    {
        Assert.Equal(DeviceType.CPU, DeviceSelector.Resolve("cpu").type);
        Assert.Equal(DeviceType.CPU, DeviceSelector.Resolve(" CPU ").type);
    }

    [Fact]
    public void Resolve_Auto_IsCudaExactlyWhenAvailable()
    {
        var expected = torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU;

        Assert.Equal(expected, DeviceSelector.Resolve("auto").type);
        Assert.Equal(expected, DeviceSelector.Resolve(null).type);
    }

    [WithCudaFact]
    public void Resolve_CudaDeviceThatIsNotThere_IsDeviceUnavailable()
    {
        // With CUDA, asking for a device that is not there is the same error as asking for CUDA without it.
        var count = torch.cuda.device_count();

        var e = Assert.Throws<AutoCircuitException>(() => DeviceSelector.Resolve($"cuda:{count}"));

        Assert.Equal(ExitCode.DeviceUnavailable, e.ExitCode);
    }

    [WithoutCudaFact]
    public void Resolve_CudaWithoutCuda_IsDeviceUnavailableNamingTheFix()
    {
        var error = Assert.Throws<AutoCircuitException>(() => DeviceSelector.Resolve("cuda"));

        Assert.Equal(ExitCode.DeviceUnavailable, error.ExitCode);
        Assert.Contains("CUDA is not available", error.Message, StringComparison.Ordinal);
        Assert.Contains("-p:TorchBackend=cuda", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:one")]
    public void Resolve_Malformed_IsAUsageErrorOrUnavailable(string spec)
    {
        var e = Assert.Throws<AutoCircuitException>(() => DeviceSelector.Resolve(spec));

        Assert.Contains($"--device {spec}", e.Message, StringComparison.Ordinal);
        Assert.True(e.ExitCode is ExitCode.UsageError or ExitCode.DeviceUnavailable, e.ExitCode.ToString());
    }

    [Theory]
    [InlineData("bfloat16")]
    [InlineData("fp16")]
    public void HalfBuffers_OnCpu_AreRefusedClearly(string type)
    {
        using var transformer = TransformerPatchingTests.Model("gpt2");

        var e = Assert.Throws<AutoCircuitException>(() =>
            PatchableModel.Create(transformer, new GraphOptions(), new PatchOptions(BufferDType: DTypes.ParseBufferType(type))));

        Assert.Contains("need a CUDA device", e.Message, StringComparison.Ordinal);
        Assert.Null(transformer.HookPoints.Values.FirstOrDefault(h => h.Hook is not null)); // nothing was installed
    }

    [Fact]
    public void BufferType_Unknown_NamesTheOption()
    {
        var e = Assert.Throws<AutoCircuitException>(() => DTypes.ParseBufferType("int8"));

        Assert.Contains("--patch-buffer-dtype int8", e.Message, StringComparison.Ordinal);
    }
}
