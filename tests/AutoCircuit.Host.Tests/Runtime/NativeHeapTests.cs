using System.Runtime.InteropServices;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Runtime;

/// <summary>
/// The native heap setting (issue 17): glibc keeps large freed blocks for the next pass instead of mapping fresh,
/// zeroed pages for each; the user's own glibc settings, or <c>AUTOCIRCUIT_NATIVE_HEAP=system</c>, leave it alone.
/// </summary>
public sealed class NativeHeapTests
{
    [Fact]
    public void Decide_ReuseByDefault_SystemWhenTheUserChose()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Equal("not linux", NativeHeap.Decide(_ => null));
            return;
        }

        Assert.Equal("reuse", NativeHeap.Decide(_ => null));
        Assert.Equal("reuse", NativeHeap.Decide(Env(("AUTOCIRCUIT_NATIVE_HEAP", "reuse"))));
        Assert.Equal("system (AUTOCIRCUIT_NATIVE_HEAP)", NativeHeap.Decide(Env(("AUTOCIRCUIT_NATIVE_HEAP", "system"))));
        Assert.Equal("system (AUTOCIRCUIT_NATIVE_HEAP)", NativeHeap.Decide(Env(("AUTOCIRCUIT_NATIVE_HEAP", "0"))));
        Assert.Equal("system (MALLOC_MMAP_MAX_)", NativeHeap.Decide(Env(("MALLOC_MMAP_MAX_", "65536"))));
        Assert.Equal("system (MALLOC_TRIM_THRESHOLD_)", NativeHeap.Decide(Env(("MALLOC_TRIM_THRESHOLD_", "131072"))));
        Assert.Equal("system (MALLOC_TRIM_THRESHOLD_)", NativeHeap.Decide(Env(("AUTOCIRCUIT_NATIVE_HEAP", "reuse"), ("MALLOC_TRIM_THRESHOLD_", "131072"))));
        Assert.Equal("system (GLIBC_TUNABLES)", NativeHeap.Decide(Env(("GLIBC_TUNABLES", "glibc.malloc.mmap_max=0"))));
        Assert.Equal("reuse", NativeHeap.Decide(Env(("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F"))));
    }

    [Fact]
    public void Decide_UnknownValue_SaysWhatIsExpected()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var e = Assert.Throws<AutoCircuitException>(() => NativeHeap.Decide(Env(("AUTOCIRCUIT_NATIVE_HEAP", "jemalloc"))));
        Assert.Contains("AUTOCIRCUIT_NATIVE_HEAP=jemalloc", e.Message, StringComparison.Ordinal);
        Assert.Contains("'reuse'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'system'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TestProcess_LargeTensor_ServedFromTheHeapNotAFreshMapping()
    {
        // TorchThreads' module initializer applied the setting. Under glibc's defaults a 40 MB block (above the largest
        // mmap threshold, 32 MiB) is always a fresh mapping; with the setting it comes from the heap.
        if (NativeHeap.Decide(Environment.GetEnvironmentVariable) != "reuse")
        {
            return; // this environment chose glibc's own settings
        }

        NativeHeap.Apply();
        Assert.Equal("reuse", NativeHeap.State);
        var before = MappedBlocks();
        using (var big = torch.ones(10L << 20, dtype: torch.ScalarType.Float32)) // 40 MiB
        {
            Assert.Equal(10L << 20, big.sum().item<float>());
            Assert.True(MappedBlocks() <= before, $"a 40 MiB tensor was a fresh mapping ({before} -> {MappedBlocks()} mapped blocks)");
        }
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    /// <summary>glibc's count of blocks served by their own mapping (<c>mallinfo2().hblks</c>, process-wide).</summary>
    private static nuint MappedBlocks() => MallInfo2().Hblks;

    [DllImport("libc", EntryPoint = "mallinfo2", ExactSpelling = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern MallInfo MallInfo2();

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct MallInfo
    {
        public readonly nuint Arena;
        public readonly nuint Ordblks;
        public readonly nuint Smblks;
        public readonly nuint Hblks;
        public readonly nuint Hblkhd;
        public readonly nuint Usmblks;
        public readonly nuint Fsmblks;
        public readonly nuint Uordblks;
        public readonly nuint Fordblks;
        public readonly nuint Keepcost;
    }
}
