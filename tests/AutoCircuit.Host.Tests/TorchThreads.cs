using System.Runtime.CompilerServices;
using TorchSharp;

namespace AutoCircuit.Host.Tests;

/// <summary>
/// One intra-op thread per test: xunit already runs test classes in parallel on every core, and the test
/// models are tiny, where libtorch's thread pool costs more than it saves (measured: a 2-layer d=16
/// transformer forward took 24 ms with 2 threads on a loaded 2-core machine, 2.5 ms with 1).
/// AUTOCIRCUIT_TEST_THREADS overrides.
/// </summary>
internal static class TorchThreads
{
#pragma warning disable CA2255 // a test assembly is the application here
    [ModuleInitializer]
    internal static void Initialize()
    {
        var threads = int.TryParse(Environment.GetEnvironmentVariable("AUTOCIRCUIT_TEST_THREADS"), out var n) && n > 0 ? n : 1;
        AutoCircuit.Engine.Runtime.OpenMpEnvironment.Apply(); // passive OpenMP waiting, before libtorch loads
        AutoCircuit.Engine.Runtime.NativeHeap.Apply(); // freed native memory kept for the next allocation
        // A build with -p:TorchBackend=none runs the tests on an installed libtorch named by AUTOCIRCUIT_LIBTORCH.
        AutoCircuit.Engine.Runtime.NativeLibTorch.PreloadFromEnvironment();
        torch.set_num_threads(threads);
        AutoCircuit.Engine.Runtime.TorchThreading.BoundInterOp();
    }
#pragma warning restore CA2255
}
