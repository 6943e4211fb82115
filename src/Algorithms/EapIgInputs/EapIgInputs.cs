using AutoCircuit.Scores;

namespace AutoCircuit.Algorithms.EapIgInputs;

/// <summary>Options of <see cref="EapIgInputs"/>.</summary>
[AlgorithmOptions]
public sealed record EapIgInputsOptions : GradientAttributionOptions
{
    /// <summary>Integration steps.</summary>
    [Option(
        "steps",
        Description = "Integration steps m: gradients at the inputs ablation + k/m (clean - ablation), k = 0..m-1, " +
            "starting at the ablated (corrupt) end; EAP-IG's default is 30, and 1 is the gradient at the corrupt input.",
        Min = 1)]
    public int Steps { get; init; } = 30;
}

/// <summary>
/// Edge attribution patching with integrated gradients over the inputs, EAP-IG (Hanna, Pezzelle and Belinkov, 2024,
/// "Have Faith in Faithfulness", https://arxiv.org/abs/2403.17806; EAP-IG's <c>get_scores_eap_ig</c>, method
/// <c>EAP-IG-inputs</c>): the input embeddings (the <c>Resid Start</c> output) are interpolated from their ablation to
/// the clean ones in <c>steps</c> steps <c>k/steps</c>, <c>k = 0..steps-1</c>; at each step the gradient of the loss
/// with respect to every destination's input is taken, and an edge scores the mean over steps and prompts of
/// <c>grad_dest · (ablation − clean)_src</c>, summed over positions and the hidden axis.
/// </summary>
/// <remarks>
/// EAP-IG interpolates the token embedding (<c>hook_embed</c>); interpolating the embedding plus the positional
/// embedding is the same thing, since the positions do not change. With <c>ablation=resample</c> this is EAP-IG exactly;
/// the other ablations interpolate from the input's ablation (e.g. zeros) and use it in the differences, where EAP-IG
/// allows only patching.
/// </remarks>
[PruneAlgorithm(
    "eap-ig-inputs",
    Name = "EAP-IG (inputs)",
    ShortName = "EAP-IG",
    Description = "Edge attribution patching with integrated gradients over the input embeddings, interpolated " +
        "from the corrupt (ablated) to the clean ones (Hanna et al., 2024).",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)] // chunks of prompts in EdgeGradients (RowChunks, ChunkedAblations)
public sealed class EapIgInputs(EapIgInputsOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public EapIgInputsOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.Graph.SrcModules[0]; // Resid Start: the module of source 0
        var steps = Options.Steps;
        var passes = Enumerable.Range(0, steps)
            .Select(k => (SourceReplacement)((module, clean, ablation) =>
                ReferenceEquals(module, input) ? ablation + ((double)k / steps * (clean - ablation)) : null))
            .ToList();
        return EdgeGradients.Run(context, Options, "EAP-IG (inputs)", passes);
    }
}
