using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit;

/// <summary>Everything an algorithm receives for one run.</summary>
public sealed class PruneContext
{
    /// <summary>The patchable model (graph, masks, patching, ablations).</summary>
    public required IPatchableModel Model { get; init; }

    /// <summary>The training batches (equal sizes; owned by the host, do not dispose).</summary>
    public required IReadOnlyList<PromptBatch> TrainBatches { get; init; }

    /// <summary>The task's known circuit, or <c>null</c> when the task has none.</summary>
    public IReadOnlySet<Edge>? KnownEdges { get; init; }

    /// <summary>The run's seed. The host has already called <c>torch.manual_seed(Seed)</c> before <see cref="IPruneAlgorithm.Run"/>.</summary>
    public long Seed { get; init; }

    /// <summary>Where to report progress (goes to stderr in the CLI).</summary>
    public IProgressSink Progress { get; init; } = NullProgressSink.Instance;

    /// <summary>Cancelled when the user interrupts the run.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Diagnostic messages (one line each) for the run log; not for data.</summary>
    public Action<string> Log { get; init; } = static _ => { };

    /// <summary>The model's device (tensors an algorithm creates belong there).</summary>
    public Device Device => Model.Device;

    /// <summary>The model's graph.</summary>
    public ModelGraph Graph => Model.Graph;
}
