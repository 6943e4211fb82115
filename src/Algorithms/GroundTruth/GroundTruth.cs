using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Algorithms.GroundTruth;

/// <summary>
/// The known circuit as scores (auto-circuit's <c>prune_algos/ground_truth.py</c>): 1 for each edge of
/// the task's known circuit, 0 for every other edge. Needs a task with a known circuit.
/// </summary>
[PruneAlgorithm(
    "ground-truth",
    Name = "Ground Truth",
    ShortName = "GT",
    Description = "Scores the task's known circuit edges 1 and all others 0 (needs a task with a known circuit).",
    RequiresKnownEdges = true,
    MemoryBudget = MemoryBudgetSupport.NoPatching)]
[PruneAlgorithmPreset("GT", "")]
public sealed class GroundTruth : IPruneAlgorithm
{
    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The task has no known circuit.</exception>
    /// <exception cref="ArgumentException">A known edge is not an edge of the model's graph.</exception>
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var known = context.KnownEdges
            ?? throw new InvalidOperationException(
                "ground-truth scores the task's known circuit, but this task has none (no known edges were given).");
        var graph = context.Graph;

        // Built on the CPU and copied once per module: no per-edge device writes.
        var values = graph.DestModules.ToDictionary(
            m => m.ModuleName, m => new float[m.EdgeCount], StringComparer.Ordinal);
        foreach (var edge in known)
        {
            if (!graph.TryGetDestModule(edge.Dest.ModuleName, out var module) ||
                graph.FindEdge(edge.Name, edge.SeqIndex) is null)
            {
                throw new ArgumentException(
                    $"Known edge '{edge}' is not an edge of this model's graph ({graph.EdgeCount} edges, " +
                    $"{(graph.IsFactorized ? "factorized" : "residual")}" +
                    $"{(graph.SeqLen is int s ? $", {s} token positions" : string.Empty)}).");
            }

            values[module.ModuleName][EdgeIndex.InModule(module, edge)] = 1f;
        }

        var scores = context.Model.NewPruneScores();
        using var _ = torch.inference_mode();
        foreach (var module in graph.DestModules)
        {
            using var cpu = torch.tensor(values[module.ModuleName], module.MaskShape);
            scores[module].copy_(cpu);
        }

        return scores;
    }
}
