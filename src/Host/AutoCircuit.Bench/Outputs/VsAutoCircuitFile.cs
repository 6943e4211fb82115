using System.ComponentModel;
using System.Text.Json.Nodes;

namespace AutoCircuit.Bench.Outputs;

/// <summary>
/// <c>bench --vs-auto-circuit --json</c>: our side of the head-to-head with auto-circuit
/// (<c>tools/perf-vs-auto-circuit/README.md</c>, "The JSON contract of our side").
/// </summary>
[Description("Our side of the head-to-head benchmark with auto-circuit (tools/perf-vs-auto-circuit/README.md).")]
internal sealed record VsAutoCircuitFile
{
    [Description("The contract's version (1).")]
    public required int Schema { get; init; }

    [Description("Which engine measured this: autocircuit-dotnet.")]
    public required string Side { get; init; }

    [Description("Layers of auto-circuit's MicroModel(n_layers).")]
    public required int NLayers { get; init; }

    [Description("The --threads asked for (libtorch intra-op threads).")]
    public required int Threads { get; init; }

    [Description("Timed repetitions per workload.")]
    public required int Reps { get; init; }

    [Description("Untimed warm-up repetitions per workload.")]
    public required int Warmup { get; init; }

    [Description("The factorized graph's size.")]
    public required VsAutoCircuitGraph Graph { get; init; }

    [Description("The prompts read from --dataset.")]
    public required VsAutoCircuitDataset Dataset { get; init; }

    [Description("Per workload asked for (construct, forward, patched_forward, activation_magnitude, mask_gradient, integrated_gradients, run_circuits, acdc): timings and checksum.")]
    public required Dictionary<string, VsAutoCircuitWorkload> Workloads { get; init; }

    [Description("Versions and the thread policy's choices.")]
    public required VsAutoCircuitEnv Env { get; init; }
}

/// <summary>The <c>"graph"</c> object.</summary>
[Description("The factorized graph's size.")]
internal sealed record VsAutoCircuitGraph
{
    [Description("Source nodes.")]
    public required int NSrcs { get; init; }

    [Description("Destination nodes (one per head).")]
    public required int NDests { get; init; }

    [Description("Edges.")]
    public required int NEdges { get; init; }
}

/// <summary>The <c>"dataset"</c> object.</summary>
[Description("The prompts read from --dataset.")]
internal sealed record VsAutoCircuitDataset
{
    [Description("Prompt pairs used.")]
    public required int Prompts { get; init; }

    [Description("Prompts per batch.")]
    public required int BatchSize { get; init; }

    [Description("Batches.")]
    public required int Batches { get; init; }

    [Description("SHA-256 of the dataset file's bytes (hex).")]
    public required string Sha256 { get; init; }
}

/// <summary>One workload's result.</summary>
[Description("One workload: its timings, what it computed, and the load around it.")]
internal sealed record VsAutoCircuitWorkload
{
    [Description("Milliseconds per repetition.")]
    public required VsAutoCircuitMs Ms { get; init; }

    [Description("What was computed, with the keys the contract defines for this workload (sums in float64 over the float32 results).")]
    public required JsonObject Checksum { get; init; }

    [Description("/proc/loadavg's three numbers before and after the workload, where known.")]
    public required double[][]? Loadavg { get; init; }
}

/// <summary>Timings of one workload.</summary>
[Description("Milliseconds per timed repetition: median, quartiles (linear interpolation), extremes, every sample in run order.")]
internal sealed record VsAutoCircuitMs
{
    [Description("Median.")]
    public required double Median { get; init; }

    [Description("First quartile.")]
    public required double Q1 { get; init; }

    [Description("Third quartile.")]
    public required double Q3 { get; init; }

    [Description("Minimum.")]
    public required double Min { get; init; }

    [Description("Maximum.")]
    public required double Max { get; init; }

    [Description("Every timed repetition, in run order.")]
    public required double[] Samples { get; init; }
}

/// <summary>The <c>"env"</c> object.</summary>
[Description("Versions and the thread policy's choices.")]
internal sealed record VsAutoCircuitEnv
{
    [Description("AutoCircuit's version.")]
    public required string Version { get; init; }

    [Description("The libtorch build (TorchSharp's version).")]
    public required string Torch { get; init; }

    [Description("libtorch intra-op threads the thread policy chose (--threads, AUTOCIRCUIT_THREADS or the model-size default): the most a pass uses.")]
    public required int NumThreads { get; init; }

    [Description("libtorch intra-op threads the last pass ran with: passes whose operations are too small to split (under about 2^20 multiply-adds each) run on one thread.")]
    public required int PassThreads { get; init; }

    [Description("libtorch inter-op threads in use.")]
    public required int NumInteropThreads { get; init; }

    [Description("The device (cpu).")]
    public required string Device { get; init; }

    [Description("The OpenMP/MKL environment as native code reads it (OMP_WAIT_POLICY, KMP_BLOCKTIME, ...).")]
    public required Dictionary<string, string> ThreadingEnv { get; init; }

    [Description("Whether libtorch or OpenMP was already loaded when the thread policy set the environment (then it came too late); null where unknown.")]
    public required bool? OpenmpLoadedBeforePolicy { get; init; }

    [Description("The native heap setting: 'reuse' (glibc keeps freed blocks for the next pass), or 'system (why)' when glibc's own settings apply (AUTOCIRCUIT_NATIVE_HEAP=system, a MALLOC_* variable), or 'not glibc'.")]
    public required string? NativeHeap { get; init; }
}
