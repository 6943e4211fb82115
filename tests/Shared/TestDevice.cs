using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Testing;

/// <summary>
/// The device the device-aware tests (trait <c>Category=Gpu</c>) build their models and data on:
/// <c>AUTOCIRCUIT_TEST_DEVICE</c> = <c>cpu</c> (default) or <c>cuda</c>/<c>cuda:N</c>. tests/gpu/run-gpu-checks.sh sets it.
/// </summary>
public static class TestDevice
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "AUTOCIRCUIT_TEST_DEVICE";

    /// <summary>The requested device text.</summary>
    public static string Requested => (Environment.GetEnvironmentVariable(Variable) ?? "cpu").Trim().ToLowerInvariant();

    /// <summary>Whether CUDA was requested.</summary>
    public static bool CudaRequested => Requested.StartsWith("cuda", StringComparison.Ordinal);

    /// <summary>The device (CPU unless CUDA was requested and is available).</summary>
    public static Device Current => CudaRequested && torch.cuda.is_available()
        ? torch.device(Requested)
        : torch.CPU;

    /// <summary>
    /// Why a CUDA-only test cannot run here, or <c>null</c> when it can: CUDA requested and present (or the CPU dry run,
    /// <c>AUTOCIRCUIT_GPU_TESTS_ON_CPU=1</c>, which runs the CUDA-only tests against the CPU to check the tests themselves).
    /// </summary>
    public static string? CudaSkipReason
    {
        get
        {
            if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_GPU_TESTS_ON_CPU") == "1")
            {
                return null;
            }

            if (!CudaRequested)
            {
                return $"CUDA test: set {Variable}=cuda on a machine with an NVIDIA GPU and a build with -p:TorchBackend=cuda " +
                       "(tests/gpu/run-gpu-checks.sh does both).";
            }

            return torch.cuda.is_available()
                ? null
                : $"{Variable}={Requested} but CUDA is not available to libtorch: build with -p:TorchBackend=cuda and check the " +
                  "driver (nvidia-smi).";
        }
    }

    /// <summary>
    /// Why a test that needs a real CUDA device cannot run here, or <c>null</c>: as <see cref="CudaSkipReason"/>, and the
    /// CPU dry run skips it too (for checks that only mean something on the GPU, e.g. half-precision buffers).
    /// </summary>
    public static string? CudaDeviceSkipReason =>
        CudaSkipReason ?? (Current.type == DeviceType.CUDA
            ? null
            : "needs a real CUDA device: the CPU dry run (AUTOCIRCUIT_GPU_TESTS_ON_CPU=1) cannot run it.");

    /// <summary>Why a check about machines with CUDA cannot run here (libtorch sees no CUDA device), or <c>null</c>.</summary>
    public static string? WithCudaSkipReason =>
        torch.cuda.is_available() ? null : "CUDA is not available to libtorch here (a CPU build, or no NVIDIA GPU): this test checks a machine with CUDA.";

    /// <summary>Why a check about machines without CUDA cannot run here (CUDA is available), or <c>null</c>.</summary>
    public static string? WithoutCudaSkipReason =>
        torch.cuda.is_available() ? "CUDA is available to libtorch here: this test checks a machine without CUDA." : null;
}

/// <summary>A fact that needs CUDA (see <see cref="TestDevice.CudaSkipReason"/>): skipped with the reason otherwise.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is not there.</summary>
    public CudaFactAttribute()
    {
        Skip = TestDevice.CudaSkipReason!;
    }
}

/// <summary>A theory that needs a real CUDA device (see <see cref="TestDevice.CudaDeviceSkipReason"/>): skipped with the reason otherwise.</summary>
public sealed class CudaDeviceTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when no CUDA device is used.</summary>
    public CudaDeviceTheoryAttribute()
    {
        Skip = TestDevice.CudaDeviceSkipReason!;
    }
}

/// <summary>A fact about machines with CUDA (see <see cref="TestDevice.WithCudaSkipReason"/>): skipped where CUDA is not available.</summary>
public sealed class WithCudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is not available.</summary>
    public WithCudaFactAttribute()
    {
        Skip = TestDevice.WithCudaSkipReason!;
    }
}

/// <summary>A fact about machines without CUDA (see <see cref="TestDevice.WithoutCudaSkipReason"/>): skipped where CUDA is available.</summary>
public sealed class WithoutCudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is available.</summary>
    public WithoutCudaFactAttribute()
    {
        Skip = TestDevice.WithoutCudaSkipReason!;
    }
}

/// <summary>A theory that needs CUDA (see <see cref="TestDevice.CudaSkipReason"/>): skipped with the reason otherwise.</summary>
public sealed class CudaTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when CUDA is not there.</summary>
    public CudaTheoryAttribute()
    {
        Skip = TestDevice.CudaSkipReason!;
    }
}
