using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Eap;

/// <summary>Options of <see cref="EdgeAttributionPatching"/>.</summary>
[AlgorithmOptions]
public sealed record EapOptions
{
    /// <summary>Function of the logits that is differentiated.</summary>
    [Option(
        "grad-function",
        Description = "Function of the output logits that is differentiated (as mask-gradient's).")]
    public GradFunction GradFunction { get; init; } = GradFunction.Logit;

    /// <summary>How token values become the loss.</summary>
    [Option(
        "answer-function",
        Description = "Loss of the token values (as mask-gradient's); auto-circuit's answer_diff=True is avg-diff.")]
    public AnswerFunction AnswerFunction { get; init; } = AnswerFunction.AvgDiff;
}

/// <summary>
/// Edge attribution patching in its slow, per-edge reference form (Syed et al., 2023,
/// https://arxiv.org/abs/2310.10348; auto-circuit's <c>prune_algos/edge_attribution_patching.py</c>):
/// for every edge, <c>Σ grad_dest · (corrupt_src − clean_src)</c>, where <c>grad_dest</c> is the
/// gradient of the loss with respect to the destination's input on the clean run, summed over batches.
/// </summary>
/// <remarks>
/// <para>A test oracle, kept deliberately plain: activations and gradients come from
/// <see cref="IActivationAccess"/> (no masks, no patching) and the scores from a loop over edges, the one
/// place a per-edge loop is allowed. It equals <c>mask-gradient</c> at <c>mask-value=0</c> with resample
/// ablations of the corrupt prompts (and the same grad and answer functions) up to float rounding; use
/// that (preset "EAP") for real runs.</para>
/// <para>Batch-separable: the loss is a mean over prompts and the scores a sum over batches of gradient times
/// activation difference, so the mean of the scores on equal parts of every batch is the scores on the whole batches
/// (under a memory budget the host runs it that way).</para>
/// <para>With token positions each edge scores only its own position. auto-circuit sums every position
/// into each per-position edge (its test has no token positions).</para>
/// </remarks>
[PruneAlgorithm(
    "eap",
    Name = "Edge Attribution Patching (per-edge reference)",
    ShortName = "EAP (slow)",
    Description = "Per-edge edge attribution patching from captured activations and gradients: a slow oracle for " +
        "mask-gradient (the \"EAP\" preset is the fast form with the same scores).",
    MemoryBudget = MemoryBudgetSupport.BatchSeparable)]
public sealed class EdgeAttributionPatching(EapOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public EapOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The model does not implement <see
    /// cref="IActivationAccess"/>.</exception>
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        if (model is not IActivationAccess access)
        {
            throw new NotSupportedException(
                $"eap needs activations and gradients at hook points, which {model.GetType().Name} does not " +
                "provide (IActivationAccess); use mask-gradient instead.");
        }

        var graph = model.Graph;
        var destNames = graph.DestModules.Select(m => m.ModuleName).ToList();
        var srcNames = graph.SrcModules.Select(m => m.ModuleName).ToList();
        var scores = model.NewPruneScores();
        using var progress = context.Progress.Start("Edge attribution patching (per edge)", context.TrainBatches.Count);
        foreach (var batch in context.TrainBatches)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var grads = access.CaptureGradients(batch.Clean, destNames, output =>
            {
                using var sliced = model.SliceOutput(output);
                using var values = Objective.TokenValues(sliced, Options.GradFunction);
                return Objective.Loss(values, batch, Options.AnswerFunction);
            });
            var clean = access.CaptureActivations(batch.Clean, srcNames);
            var corrupt = access.CaptureActivations(batch.Corrupt, srcNames);
            try
            {
                using var _ = torch.inference_mode();
                foreach (var edge in graph.Edges)
                {
                    var grad = NodeSlice(grads[edge.Dest.ModuleName], edge.Dest);
                    var src = edge.Src;
                    var diff = NodeSlice(corrupt[src.ModuleName], src) - NodeSlice(clean[src.ModuleName], src);
                    if (edge.SeqIndex is int s)
                    {
                        grad = grad.select(1, s);
                        diff = diff.select(1, s);
                    }

                    var score = (grad * diff).sum();
                    var index = edge.PatchIndex.Select(i => TensorIndex.Single(i)).ToArray();
                    var cell = scores[edge.Dest.ModuleName][index];
                    cell.add_(score);
                }
            }
            finally
            {
                foreach (var t in grads.Values.Concat(clean.Values).Concat(corrupt.Values))
                {
                    t.Dispose();
                }
            }

            progress.Advance();
        }

        return scores;
    }

    /// <summary>One node's slice of its module's activation (<c>[batch, seq, d...]</c>).</summary>
    private static Tensor NodeSlice(Tensor activation, Node node) =>
        node.HeadIndex is int h ? activation.select(node.HeadDim ?? 2, h) : activation;
}
