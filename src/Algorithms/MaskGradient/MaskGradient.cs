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
/// summed, not averaged. auto-circuit asserts when a dataset-mean or zero ablation is combined with its
/// default <c>clean_corrupt="corrupt"</c>; here <c>ablation-source</c> is simply ignored for those types.
/// </remarks>
[PruneAlgorithm(
    "mask-gradient",
    Name = "Mask Gradient",
    ShortName = "Mask Grad",
    Description = "Gradient of an answer loss with respect to the edge masks (edge attribution patching; " +
        "integrated gradients with integrated-gradients=N).")]
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
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        var batches = context.TrainBatches;
        var o = Options;
        var samples = o.IntegratedGradients ?? 0;
        var fromClean = o.AblationSource == AblationSource.Clean;
        var ablations = model.BatchSourceAblations(batches, o.Ablation, fromClean);
        try
        {
            using var progress = context.Progress.Start("Mask gradient", (samples + 1L) * batches.Count);
            using (model.TrainMaskMode())
            {
                for (var sample = 0; sample <= samples; sample++)
                {
                    model.SetAllMasks(o.IntegratedGradients is int n ? (double)sample / n : o.EffectiveMaskValue);
                    foreach (var batch in batches)
                    {
                        context.CancellationToken.ThrowIfCancellationRequested();
                        using var scope = torch.NewDisposeScope();
                        using (model.PatchMode(ablations[batch.Key]))
                        {
                            var logits = model.Run(batch.Clean);
                            var values = Objective.TokenValues(logits, o.GradFunction);
                            var loss = Objective.Loss(values, batch, o.AnswerFunction);
                            loss.backward();
                        }

                        progress.Advance();
                    }
                }

                return ReadGradients(model);
            }
        }
        finally
        {
            foreach (var t in ablations.Values)
            {
                t.Dispose();
            }

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
