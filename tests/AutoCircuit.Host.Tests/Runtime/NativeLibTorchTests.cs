using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Testing;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Runtime;

/// <summary>
/// <see cref="NativeLibTorch"/>: an installed libtorch (AUTOCIRCUIT_LIBTORCH) for builds made with
/// -p:TorchBackend=none. The loading itself is exercised by the GPU script (tests/gpu/run-gpu-checks.sh --pytorch) and
/// the CI smoke step; this process already holds the libtorch this build ships, so only the refusals run here.
/// </summary>
public sealed class NativeLibTorchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-libtorch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Preload_Unset_LoadsNothing(string? folder)
    {
        Assert.Empty(NativeLibTorch.Preload(folder, TestFixtures.OutputDirectory));
    }

    [Fact]
    public void Preload_MissingFolder_NamesTheVariableAndHowToFindTheFolder()
    {
        var missing = Path.Combine(_dir, "nope");

        var e = Assert.Throws<AutoCircuitException>(() => NativeLibTorch.Preload(missing, EmptyApp()));

        Assert.Equal(ExitCode.DeviceUnavailable, e.ExitCode);
        Assert.Contains($"AUTOCIRCUIT_LIBTORCH={missing}: no such folder", e.Message, StringComparison.Ordinal);
        Assert.Contains("import torch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preload_IntoABuildThatShipsLibTorch_IsRefused()
    {
        var e = Assert.Throws<AutoCircuitException>(() => NativeLibTorch.Preload(_dir, TestFixtures.OutputDirectory));

        if (NativeLibTorch.ShippedCopy(TestFixtures.OutputDirectory) is not null)
        {
            // The default build ships libtorch: a second copy would be loaded beside it.
            Assert.Contains("this build ships its own libtorch", e.Message, StringComparison.Ordinal);
            Assert.Contains("-p:TorchBackend=none", e.Message, StringComparison.Ordinal);
        }
        else
        {
            // A -p:TorchBackend=none build (tests run on AUTOCIRCUIT_LIBTORCH): the empty folder is what is wrong.
            Assert.Contains("not found there", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Preload_FolderWithoutLibTorch_ListsWhatIsMissing()
    {
        File.WriteAllText(Path.Combine(_dir, "libc10.so"), string.Empty);

        var e = Assert.Throws<AutoCircuitException>(() => NativeLibTorch.Preload(_dir, EmptyApp()));

        Assert.Contains($"AUTOCIRCUIT_LIBTORCH={_dir}: libtorch_cpu.so, libtorch.so not found there", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preload_FilesThatAreNotLibraries_SaysWhichDidNotLoad()
    {
        foreach (var name in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            File.WriteAllText(Path.Combine(_dir, name), "not an ELF file");
        }

        var e = Assert.Throws<AutoCircuitException>(() => NativeLibTorch.Preload(_dir, EmptyApp()));

        // Under AUTOCIRCUIT_LIBTORCH (a -p:TorchBackend=none test run) this process already loaded a libtorch.
        Assert.Contains(NativeLibTorch.LoadedFrom is null ? "libc10.so did not load" : "libtorch is already loaded from", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedCopy_AppWithoutLibTorch_IsNull()
    {
        Assert.Null(NativeLibTorch.ShippedCopy(EmptyApp()));
    }

    [Fact]
    public void LoadFailure_TorchSharpsInitialiserError_IsRecognised()
    {
        var torchSharp = new TypeInitializationException(
            "TorchSharp.torch",
            new NotSupportedException("This application or script uses TorchSharp but doesn't contain a reference to libtorch-cpu-linux-x64, Version=2.10.0.0."));
        var other = new TypeInitializationException("Some.Type", new InvalidOperationException("libtorch"));

        Assert.True(CommandLine.IsLibTorchLoadFailure(torchSharp));
        Assert.False(CommandLine.IsLibTorchLoadFailure(other));
    }

    private string EmptyApp() => Directory.CreateDirectory(Path.Combine(_dir, "app")).FullName;
}
