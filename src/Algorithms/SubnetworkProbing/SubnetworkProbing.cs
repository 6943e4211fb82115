using AutoCircuit.Scores;

namespace AutoCircuit.Algorithms.SubnetworkProbing;

/// <summary>
/// Subnetwork probing (Cao et al., 2021, https://arxiv.org/abs/2104.03514), as auto-circuit adapts it to
/// edges (<c>prune_algos/subnetwork_probing.py</c>): learn one mask parameter per edge with Adam to keep
/// the patched model faithful while a regulariser shrinks the circuit; the scores are the learned masks.
/// </summary>
/// <remarks>
/// Edges are ablated with the token-wise mean of the corrupt prompts in both directions
/// (edge patching on the corrupt input and tree optimisation on the clean input), as auto-circuit does
/// regardless of its commented-out resample options. The masks start at <c>-init-val</c>
/// (<c>+init-val</c> with tree optimisation) and are sampled from HardConcrete per prompt by default,
/// with torch's global generator (seeded by the host).
/// </remarks>
[PruneAlgorithm(
    "subnetwork-probing",
    Name = "Subnetwork Probing",
    ShortName = "SP",
    Description = "Learns a mask per edge (HardConcrete by default) with Adam: faithfulness to the clean model " +
        "plus a regulariser on the number of edges.",
    MemoryBudget = MemoryBudgetSupport.Unsupported)] // TODO(#19): accumulate gradients over chunks of prompts
[PruneAlgorithmPreset("SP", "learning-rate=0.1,epochs=200,regularize-lambda=0.5,mask-fn=hard-concrete")]
[PruneAlgorithmPreset("SEP", "learning-rate=0.1,epochs=200,regularize-lambda=0.5,mask-fn=hard-concrete")]
[PruneAlgorithmPreset(
    "STP",
    "learning-rate=0.1,epochs=2000,regularize-lambda=0.5,mask-fn=hard-concrete,tree-optimisation=true")]
[PruneAlgorithmPreset(
    "STP (MSE)",
    "learning-rate=0.1,epochs=200,regularize-lambda=0.5,mask-fn=hard-concrete,target=mse,tree-optimisation=true")]
public sealed class SubnetworkProbing(SubnetworkProbingOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public SubnetworkProbingOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = Options;
        var settings = ProbingSettings.From(o, o.InitVal, o.TreeOptimisation, o.Target);
        return ProbingCore.Train(context, settings, o.CircuitSize, "Subnetwork probing");
    }
}
