using AutoCircuit.Algorithms.SubnetworkProbing;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Algorithms.CircuitProbing;

/// <summary>
/// Circuit probing (auto-circuit's <c>prune_algos/circuit_probing.py</c>): subnetwork probing at each
/// circuit size in ascending order, each run's top <c>size</c> edges scoring <c>count - i</c> unless a
/// smaller circuit already claimed them, so edges of smaller circuits rank higher; edges in no circuit
/// score 0.
/// </summary>
/// <remarks>
/// A size at or above the graph's edge count trains with that size as its target and takes every edge
/// into its circuit (auto-circuit fails there with an index error taking the threshold); since every
/// edge then has a score, the training for any larger size is skipped (it could not change a score).
/// </remarks>
[PruneAlgorithm(
    "circuit-probing",
    Name = "Circuit Probing",
    ShortName = "CP",
    Description = "Subnetwork probing at several circuit sizes; smaller circuits' edges score higher.",
    MemoryBudget = MemoryBudgetSupport.Unsupported)] // TODO(#19): accumulate gradients over chunks of prompts
[PruneAlgorithmPreset(
    "CP",
    "learning-rate=0.1,epochs=2000,regularize-lambda=0.1,mask-fn=hard-concrete,circuit-sizes=true-size;1000")]
public sealed class CircuitProbing(CircuitProbingOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public CircuitProbingOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context) =>
        CircuitProbingCore.Run(
            context,
            ProbingSettings.From(Options, Options.InitVal, Options.TreeOptimisation, Options.Target),
            Options.CircuitSizes,
            "Circuit probing");
}

/// <summary>
/// Circuit tree probing (auto-circuit's "Tree Probing", <c>circuit_probing_prune_scores</c> with
/// <c>tree_optimisation=True</c>): circuit probing that learns on the clean input which edges to ablate.
/// </summary>
[PruneAlgorithm(
    "circuit-tree-probing",
    Name = "Tree Probing",
    ShortName = "TP",
    Description = "Circuit probing with tree optimisation: on the clean input, learn which edges can be ablated, " +
        "at several circuit sizes.",
    MemoryBudget = MemoryBudgetSupport.Unsupported)] // TODO(#19): accumulate gradients over chunks of prompts
[PruneAlgorithmPreset(
    "TP",
    "learning-rate=0.1,epochs=200,regularize-lambda=0.1,mask-fn=hard-concrete," +
    "circuit-sizes=100;true-size;1000;10000")]
[PruneAlgorithmPreset(
    "TP (MSE)",
    "learning-rate=0.1,epochs=200,regularize-lambda=0.1,mask-fn=hard-concrete,circuit-sizes=true-size,target=mse")]
public sealed class CircuitTreeProbing(CircuitTreeProbingOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public CircuitTreeProbingOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context) =>
        CircuitProbingCore.Run(
            context,
            ProbingSettings.From(Options, Options.InitVal, tree: true, Options.Target),
            Options.CircuitSizes,
            "Tree probing");
}

/// <summary>
/// Opposite tree probing (auto-circuit's "OTP"): tree probing whose faithfulness term is minus the
/// wrong-answer logit, i.e. the circuit that most favours the wrong answer.
/// </summary>
[PruneAlgorithm(
    "opposite-tree-probing",
    Name = "Opposite Tree Probing",
    ShortName = "OTP",
    Description = "Tree probing towards the wrong answers (faithfulness term: minus the wrong-answer logit), at " +
        "several circuit sizes.",
    MemoryBudget = MemoryBudgetSupport.Unsupported)] // TODO(#19): accumulate gradients over chunks of prompts
[PruneAlgorithmPreset(
    "OTP",
    "learning-rate=0.1,epochs=100,regularize-lambda=0.1,mask-fn=hard-concrete,circuit-sizes=true-size;1000;10000")]
public sealed class OppositeTreeProbing(OppositeTreeProbingOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public OppositeTreeProbingOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context) =>
        CircuitProbingCore.Run(
            context,
            ProbingSettings.From(Options, Options.InitVal, tree: true, ProbingTarget.WrongAnswer),
            Options.CircuitSizes,
            "Opposite tree probing");
}

/// <summary>The size loop shared by the circuit-probing algorithms.</summary>
internal static class CircuitProbingCore
{
    public static PruneScores Run(PruneContext context, ProbingSettings settings, string[] sizes, string title)
    {
        ArgumentNullException.ThrowIfNull(context);
        var graph = context.Graph;
        var resolved = CircuitSizeList.Resolve(sizes, context.KnownEdges);
        var scores = context.Model.NewPruneScores();
        try
        {
            using var sizeProgress = context.Progress.Start(title, resolved.Count, "circuit size");
            for (var i = 0; i < resolved.Count; i++)
            {
                var size = resolved[i];
                using var probed = ProbingCore.Train(context, settings, size, $"{title} (size {size})", sizeProgress);
                using var scope = torch.NewDisposeScope();
                using var _ = torch.inference_mode();

                // The size-th largest |score| (auto-circuit's prune_scores_threshold). A size at or above
                // the edge count is the whole graph: the threshold is the smallest score.
                var threshold = probed.SortedAbsDescending()[Math.Min(size, graph.EdgeCount) - 1];
                var rank = resolved.Count - i;
                foreach (var module in graph.DestModules)
                {
                    var current = scores[module];
                    var newCircuit = probed[module].ge(threshold).logical_and(current.eq(0));
                    current.masked_fill_(newCircuit, rank);
                }

                sizeProgress.Advance();

                if (size >= graph.EdgeCount && i + 1 < resolved.Count)
                {
                    // Every edge now has a score, so larger sizes cannot change any: skip their training.
                    context.Log(
                        $"circuit size {size} covers all {graph.EdgeCount} edges; sizes " +
                        $"{string.Join(", ", resolved.Skip(i + 1))} cannot change the scores and are not probed.");
                    break;
                }
            }

            return scores;
        }
        catch
        {
            scores.Dispose();
            throw;
        }
    }
}
