using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.MaskGradient;

/// <summary>
/// Mask gradients (auto-circuit's <c>prune_algos/mask_gradient.py</c>): the gradient of a loss of the
/// model output with respect to the mask values that interpolate every edge between its current
/// (clean) activation and its ablation. With <c>grad-function=logit</c>, <c>answer-function=avg-diff</c>
/// and <c>mask-value=0</c> this is edge attribution patching (Syed et al., 2023,
/// https://arxiv.org/abs/2310.10348) in one forward and one backward pass per batch; with
/// <c>integrated-gradients=N</c> it sums the gradients at N+1 evenly spaced mask values, an
/// approximation of integrated gradients (Sundararajan et al., 2017, https://arxiv.org/abs/1703.01365).
/// </summary>
/// <remarks>
/// Gradients accumulate in the masks' <c>grad</c> over batches and samples exactly as in auto-circuit:
/// summed, not averaged (batches outer, samples inner: auto-circuit loops the other way round, which only changes
/// the order of the float additions). auto-circuit asserts when a dataset-mean or zero ablation is combined with its
/// default <c>clean_corrupt="corrupt"</c>; here <c>ablation-source</c> is simply ignored for those types.
/// </remarks>
[PruneAlgorithm(
    "mask-gradient",
    Name = "Mask Gradient",
    ShortName = "Mask Grad",
    Description = "Gradient of an answer loss with respect to the edge masks (edge attribution patching; " +
        "integrated gradients with integrated-gradients=N).",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)]
[PruneAlgorithmPreset("EAP", "grad-function=logit,answer-function=avg-diff,mask-value=0")]
[PruneAlgorithmPreset("EAP (Prob)", "grad-function=prob,answer-function=avg-val,mask-value=0")]
[PruneAlgorithmPreset("EAP (Answer Logit)", "grad-function=logit-exp,answer-function=avg-val,mask-value=0")]
[PruneAlgorithmPreset("EAP (Answer Logprob)", "grad-function=logprob,answer-function=avg-val,mask-value=0")]
[PruneAlgorithmPreset("EAP (Logprob Diff)", "grad-function=logprob,answer-function=avg-diff,mask-value=0")]
[PruneAlgorithmPreset("EAP (MSE)", "grad-function=logit,answer-function=mse,mask-value=0")]
[PruneAlgorithmPreset("IEG", "grad-function=logit,answer-function=avg-diff,integrated-gradients=1000")]
[PruneAlgorithmPreset("IEG (Answer Logit)", "grad-function=logit,answer-function=avg-val,integrated-gradients=50")]
public sealed class MaskGradient(MaskGradientOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public MaskGradientOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    /// <remarks>
    /// Per batch: the batch-wise ablations are computed once (dataset means once for the run) and reused by every
    /// integrated-gradients sample, so at most one batch's ablations are held at a time. Under a memory budget
    /// (<see cref="IPatchMemoryBudget"/>) each batch is processed in chunks of prompts, each chunk's loss weighted by
    /// its share of the batch: the gradients are those of the whole batch's loss.
    /// </remarks>
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        var batches = context.TrainBatches;
        var o = Options;
        var samples = o.IntegratedGradients ?? 0;
        var fromClean = o.AblationSource == AblationSource.Clean;
        using var datasetMean = o.Ablation.IsMeanOverDataset() ? model.SourceAblations(batches, o.Ablation) : null;
        try
        {
            using var progress = context.Progress.Start("Mask gradient", (samples + 1L) * batches.Count);
            using (model.TrainMaskMode())
            {
                var values = Enumerable.Range(0, samples + 1)
                    .Select(i => o.IntegratedGradients is int n ? (double)i / n : o.EffectiveMaskValue).ToList();
                foreach (var batch in batches)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();

                    // Chunks that fit every sample's pass (a non-zero mask value needs more memory than 0).
                    model.SetAllMasks(values.MaxBy(Math.Abs));
                    var chunks = model.RowChunks(batch);
                    var ablationInput = o.Ablation == AblationType.Zero ? batch.Clean : batch.Input(fromClean);
                    using var ablations = datasetMean is not null
                        ? ChunkedAblations.FromDatasetMean(model, datasetMean)
                        : ChunkedAblations.Create(model, ablationInput, o.Ablation, chunks);
                    foreach (var (start, count) in chunks)
                    {
                        using var chunkScope = torch.NewDisposeScope();
                        using var rows = chunks.Count == 1 ? null : batch.Rows(start, count);
                        var part = rows ?? batch;
                        var patch = ablations.For(start, count);
                        foreach (var value in values)
                        {
                            context.CancellationToken.ThrowIfCancellationRequested();
                            using var scope = torch.NewDisposeScope();
                            model.SetAllMasks(value);
                            using (model.PatchMode(patch))
                            {
                                var logits = model.Run(part.Clean);
                                var tokenValues = Objective.TokenValues(logits, o.GradFunction);
                                var loss = Objective.Loss(tokenValues, part, o.AnswerFunction);
                                if (chunks.Count > 1)
                                {
                                    // The batch's loss is a mean over its prompts: each chunk contributes its share.
                                    loss = loss * ((double)count / batch.Size);
                                }

                                loss.backward();
                            }
                        }
                    }

                    progress.Advance(samples + 1);
                }

                return ReadGradients(model);
            }
        }
        finally
        {
            model.SetAllMasks(0);
        }
    }

    private static PruneScores ReadGradients(IPatchableModel model)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = torch.no_grad();
        foreach (var module in model.Graph.DestModules)
        {
            var mask = model.Masks[module.ModuleName];
            using var grad = mask.grad;
            tensors[module.ModuleName] = grad is null ? torch.zeros_like(mask) : grad.detach().clone();
        }

        return PruneScores.FromTensors(model.Graph, tensors);
    }
}
