using AutoCircuit.Scores;

namespace AutoCircuit.Algorithms.CleanCorrupted;

/// <summary>Options of <see cref="CleanCorrupted"/>.</summary>
[AlgorithmOptions]
public sealed record CleanCorruptedOptions : GradientAttributionOptions;

/// <summary>
/// EAP-IG's <c>clean-corrupted</c> method (Hanna, Pezzelle and Belinkov, 2024, "Have Faith in Faithfulness",
/// https://arxiv.org/abs/2403.17806; EAP-IG's <c>get_scores_clean_corrupted</c>): the two ends of
/// <c>eap-ig-inputs</c>' path only. Each edge scores the mean of <c>grad_dest · (ablation − clean)_src</c> with the
/// gradient taken on the clean input and on the corrupt input, averaged over prompts and summed over positions and the
/// hidden axis: the mean of edge attribution patching at the clean input and of <c>eap-ig-inputs</c> with one step.
/// </summary>
/// <remarks>
/// The corrupt end is the clean prompts' run with the input embeddings (the <c>Resid Start</c> output) replaced by their
/// ablation, which for <c>ablation=resample</c> is exactly EAP-IG's run on the corrupt prompts.
/// </remarks>
[PruneAlgorithm(
    "clean-corrupted",
    Name = "EAP (clean + corrupted)",
    ShortName = "Clean-Corrupted",
    Description = "Edge attribution patching with the gradients at the clean and at the corrupt input averaged " +
        "(EAP-IG's clean-corrupted, Hanna et al., 2024).",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)] // chunks of prompts in EdgeGradients (RowChunks, ChunkedAblations)
public sealed class CleanCorrupted(CleanCorruptedOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public CleanCorruptedOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var input = context.Graph.SrcModules[0]; // Resid Start: the module of source 0
        SourceReplacement[] passes =
        [
            (_, _, _) => null, // the clean run
            (module, _, ablation) => ReferenceEquals(module, input) ? ablation.alias() : null, // the corrupt run
        ];
        return EdgeGradients.Run(context, Options, "EAP (clean + corrupted)", passes);
    }
}
