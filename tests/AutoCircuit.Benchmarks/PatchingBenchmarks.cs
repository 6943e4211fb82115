using AutoCircuit.Bench;
using BenchmarkDotNet.Attributes;
using TorchSharp;

namespace AutoCircuit.Benchmarks;

/// <summary>
/// The patching engine's operations on a GPT-2-shaped random model (the workloads of <c>dotnet autocircuit bench</c>):
/// the plain forward pass is the baseline, so BenchmarkDotNet's Ratio column is each operation over one forward.
/// mask-gradient's EAP limit is (2 forwards + 1 backward) = PlainForward + ForwardBackward.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public class PatchingBenchmarks
{
    private BenchWorkload _workload = null!;
    private IReadOnlyList<int> _sizes = [];

    /// <summary>Model shape: small (2x4x64) or gpt2 (12x12x768, vocab 8192, batch 4 x seq 16).</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "small";

    /// <summary>The shapes: AUTOCIRCUIT_BENCH_SHAPES (comma-separated), default small and gpt2.</summary>
    public static IEnumerable<string> Shapes() =>
        (Environment.GetEnvironmentVariable("AUTOCIRCUIT_BENCH_SHAPES") ?? "small,gpt2").Split(',', StringSplitOptions.RemoveEmptyEntries);

    [GlobalSetup]
    public void Setup()
    {
        var shape = BenchShape.Parse(Shape);
        torch.set_num_threads(Environment.GetEnvironmentVariable("AUTOCIRCUIT_THREADS") is { } t ? int.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 1);
        _workload = new BenchWorkload(shape, torch.CPU, batchCount: 2);
        _sizes = _workload.EdgeCountSweep(8);
    }

    [GlobalCleanup]
    public void Cleanup() => _workload.Dispose();

    /// <summary>One forward pass, hooks passing through.</summary>
    [Benchmark(Baseline = true)]
    public void PlainForward() => _workload.PlainForward();

    /// <summary>Every edge patched, masks 0.</summary>
    [Benchmark]
    public void PatchedForward() => _workload.PatchedForward();

    /// <summary>Forward with gradients and backward to the first residual.</summary>
    [Benchmark]
    public void ForwardBackward() => _workload.ForwardBackward();

    /// <summary>mask-gradient (EAP) on one batch.</summary>
    [Benchmark]
    public void MaskGradientBatch() => _workload.MaskGradient();

    /// <summary>Evaluation of one circuit size (the sweep's average).</summary>
    [Benchmark(OperationsPerInvoke = 8)]
    public void EvaluatePerSize() => _workload.Evaluate(_sizes);

    /// <summary>24 ACDC steps (the last block's edges, restarting there).</summary>
    [Benchmark(OperationsPerInvoke = 24)]
    public void AcdcStep() => _workload.Acdc(25);
}
