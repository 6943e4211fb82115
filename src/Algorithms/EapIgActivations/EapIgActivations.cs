using AutoCircuit.Scores;

namespace AutoCircuit.Algorithms.EapIgActivations;

/// <summary>Options of <see cref="EapIgActivations"/>.</summary>
[AlgorithmOptions]
public sealed record EapIgActivationsOptions : GradientAttributionOptions
{
    /// <summary>Integration steps per source module.</summary>
    [Option(
        "steps",
        Description = "Integration steps m per source module: its output is set to a·clean + (1-a)·ablation with " +
            "a = k/m, k = 1..m (EAP-IG's default 30).",
        Min = 1)]
    public int Steps { get; init; } = 30;
}

/// <summary>
/// EAP-IG's integrated gradients over activations (Hanna, Pezzelle and Belinkov, 2024, "Have Faith in Faithfulness",
/// https://arxiv.org/abs/2403.17806; EAP-IG's <c>get_scores_ig_activations</c>, method <c>EAP-IG-activations</c>, after
/// Marks et al., 2024, https://arxiv.org/abs/2403.19647): for each source module in turn (the input, each layer's
/// attention heads, each MLP) and each step <c>a = k/steps</c>, <c>k = 1..steps</c>, the module's output is set to
/// <c>a·clean + (1 − a)·ablation</c> on the clean run and the gradient of the loss with respect to every destination's
/// input is taken. Every edge scores the mean over all these passes and over prompts of
/// <c>grad_dest · (ablation − clean)_src</c>, summed over positions and the hidden axis.
/// </summary>
/// <remarks>
/// As in EAP-IG, every pass contributes to every edge (not only to the interpolated module's), and a destination whose
/// node feeds the replaced output gets no gradient in that pass. EAP-IG's zero and mean interventions interpolate
/// towards zeros (it never records the mean there); here every ablation type interpolates towards its own ablation.
/// </remarks>
[PruneAlgorithm(
    "eap-ig-activations",
    Name = "EAP-IG (activations)",
    ShortName = "EAP-IG-act",
    Description = "Edge attribution patching with integrated gradients over each source module's output in turn, " +
        "interpolated between its ablation and clean values (Hanna et al., 2024).",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)] // chunks of prompts in EdgeGradients (RowChunks, ChunkedAblations)
public sealed class EapIgActivations(EapIgActivationsOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public EapIgActivationsOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = Options.Steps;
        var passes = context.Graph.SrcModules
            .SelectMany(target => Enumerable.Range(1, steps).Select(k => (SourceReplacement)((module, clean, ablation) =>
            {
                var alpha = (double)k / steps;
                return ReferenceEquals(module, target) ? (alpha * clean) + ((1 - alpha) * ablation) : null;
            })))
            .ToList();
        return EdgeGradients.Run(context, Options, "EAP-IG (activations)", passes);
    }
}
