using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using AutoCircuit.Tensors;
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
    /// its share of the batch: the gradients are those of the whole batch's loss. Integrated-gradients samples run
    /// several to a pass where the model can set mask values per row (<see cref="IMaskValuesPerRow"/>) and the
    /// budget (or, without one, <see cref="PackedPassBytes"/>) allows: the same gradients in fewer, larger operations.
    /// </remarks>
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        var batches = context.TrainBatches;
        var o = Options;
        var samples = o.IntegratedGradients ?? 0;
        using var datasetMean = o.Ablation.IsMeanOverDataset() ? model.SourceAblations(batches, o.Ablation) : null;
        try
        {
            using var progress = context.Progress.Start("Mask gradient", (samples + 1L) * batches.Count);
            using (model.TrainMaskMode())
            {
                var values = Enumerable.Range(0, samples + 1)
                    .Select(i => o.IntegratedGradients is int n ? (double)i / n : o.EffectiveMaskValue).ToList();

                // One mask value: whole batches of the same shape that fit one pass together run as one pass.
                var pending = new List<PromptBatch>();
                long pendingRows = 0;
                foreach (var batch in batches)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();

                    // Chunks that fit every sample's pass (a non-zero mask value needs more memory than 0).
                    model.SetAllMasks(values.MaxBy(Math.Abs));
                    var chunks = model.RowChunks(batch);
                    if (values.Count == 1 && chunks.Count == 1)
                    {
                        if (pending.Count > 0 && (!SameShape(pending[0], batch) || pendingRows + batch.Size > PassRows(model, batch)))
                        {
                            RunBatches(context, pending, values[0], datasetMean, progress);
                            pending.Clear();
                            pendingRows = 0;
                        }

                        pending.Add(batch);
                        pendingRows += batch.Size;
                        continue;
                    }

                    RunBatches(context, pending, values[0], datasetMean, progress);
                    pending.Clear();
                    pendingRows = 0;
                    RunBatch(context, batch, chunks, values, datasetMean);
                    progress.Advance(samples + 1);
                }

                RunBatches(context, pending, values[0], datasetMean, progress);
                return ReadGradients(model);
            }
        }
        finally
        {
            model.SetAllMasks(0);
        }
    }

    /// <summary>
    /// One batch in chunks of prompts, every sample's gradient: the batch-wise ablations are made once and reused by
    /// every sample, samples packed into one pass where they fit (<see cref="SamplesPerPass"/>).
    /// </summary>
    private void RunBatch(PruneContext context, PromptBatch batch, IReadOnlyList<(long Start, long Count)> chunks, List<double> values, Tensor? datasetMean)
    {
        var model = context.Model;
        var ablationInput = Options.Ablation == AblationType.Zero ? batch.Clean : batch.Input(Options.AblationSource == AblationSource.Clean);
        using var ablations = datasetMean is not null
            ? ChunkedAblations.FromDatasetMean(model, datasetMean)
            : ChunkedAblations.Create(model, ablationInput, Options.Ablation, chunks);
        foreach (var (start, count) in chunks)
        {
            using var chunkScope = torch.NewDisposeScope();
            using var rows = chunks.Count == 1 ? null : batch.Rows(start, count);
            var part = rows ?? batch;
            var patch = ablations.For(start, count);

            // The batch's loss is a mean over its prompts: each chunk contributes its share.
            double? share = chunks.Count > 1 ? (double)count / batch.Size : null;
            var perPass = SamplesPerPass(model, batch, count, values.Count);
            for (var first = 0; first < values.Count; first += perPass)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var group = values.Skip(first).Take(perPass).ToList();
                if (group.Count > 1)
                {
                    PackedPass(model, part, patch, group, share);
                    continue;
                }

                model.SetAllMasks(group[0]);

                // One pass per chunk (no integrated gradients) and ablations made for these prompts alone (not views of a
                // mean the next chunk reads): hand them over, so the engine can turn them into its difference buffer in
                // place (one buffer, not two).
                using (values.Count == 1 && ablations.OwnTensorPerChunk ? model.PatchModeConsuming(patch) : model.PatchMode(patch))
                {
                    var loss = Loss(model.Run(part.Clean), part);
                    if (share is double w)
                    {
                        loss = loss * w;
                    }

                    loss.backward();
                }
            }
        }
    }

    /// <summary>
    /// Whole batches at one mask value as one pass over their prompts concatenated (the loss the sum of each batch's
    /// loss, so the gradient is the sum of the batches' gradients); a single batch runs alone.
    /// </summary>
    private void RunBatches(PruneContext context, List<PromptBatch> batches, double value, Tensor? datasetMean, IProgressTask progress)
    {
        if (batches.Count == 0)
        {
            return;
        }

        context.CancellationToken.ThrowIfCancellationRequested();
        var model = context.Model;
        model.SetAllMasks(value);
        if (batches.Count == 1)
        {
            RunBatch(context, batches[0], [(0, batches[0].Size)], [value], datasetMean);
            progress.Advance(1);
            return;
        }

        using var scope = torch.NewDisposeScope();
        var fromClean = Options.AblationSource == AblationSource.Clean;
        var input = torch.cat(batches.Select(b => b.Clean).ToArray(), 0); // [sum B, T...]
        Tensor patch; // [S, sum B, T, d], ours: handed over to the pass
        if (datasetMean is not null)
        {
            patch = torch.cat(batches.Select(b => datasetMean.narrow(1, 0, b.Size)).ToArray(), 1);
        }
        else if (Options.Ablation == AblationType.Resample)
        {
            // Resampled ablations are each prompt's own source outputs: one pass over the batches' inputs together.
            using var inputs = fromClean ? null : torch.cat(batches.Select(b => b.Corrupt).ToArray(), 0);
            patch = model.SourceAblations(inputs ?? input, AblationType.Resample);
        }
        else
        {
            patch = torch.cat(batches.Select(b => BatchAblations(model, b, fromClean)).ToArray(), 1);
        }

        using (model.PatchModeConsuming(patch))
        {
            var logits = model.Run(input); // [sum B, vocab]
            Tensor? loss = null;
            long row = 0;
            foreach (var b in batches)
            {
                var block = Loss(logits.narrow(0, row, b.Size), b);
                loss = loss is null ? block : loss + block;
                row += b.Size;
            }

            loss!.backward();
        }

        progress.Advance(batches.Count);
    }

    /// <summary>One batch's batch-wise ablations (zero, batch means), <c>[S, B, T, d]</c>.</summary>
    private Tensor BatchAblations(IPatchableModel model, PromptBatch batch, bool fromClean)
    {
        var input = Options.Ablation == AblationType.Zero ? batch.Clean : batch.Input(fromClean);
        using var ablations = ChunkedAblations.Create(model, input, Options.Ablation, [(0, batch.Size)]);
        return ablations.For(0, batch.Size);
    }

    /// <summary>Whether two batches' prompts can share one pass (the same shape but for the count of prompts).</summary>
    private static bool SameShape(PromptBatch a, PromptBatch b) =>
        a.Clean.Sizes().Skip(1).SequenceEqual(b.Clean.Sizes().Skip(1)) && a.Corrupt.Sizes().Skip(1).SequenceEqual(b.Corrupt.Sizes().Skip(1));

    /// <summary>
    /// The most prompt rows one pass may patch, with the masks as they are set now: the memory budget's rows, or
    /// without one as many as fit <see cref="PackedPassBytes"/> (at least one batch).
    /// </summary>
    internal static long PassRows(IPatchableModel model, PromptBatch batch)
    {
        if (model is IPatchMemoryBudget budget && budget.MaxPatchRows(batch) is int r)
        {
            return r;
        }

        return model is IMaskValuesPerRow sized
            ? Math.Max(batch.Size, PackedPassBytes / Math.Max(1, sized.PatchBytesPerRow(batch)))
            : batch.Size;
    }

    /// <summary>
    /// Source-output buffers one packed pass may hold when the model has no memory budget: enough to pack the samples
    /// of small models, where a pass costs its count of operations, into one pass; at most one sample per pass where a
    /// single prompt's buffers exceed it (GPT-2 small and up), so large models run as before.
    /// </summary>
    internal const long PackedPassBytes = 64L << 20;

    /// <summary>
    /// How many integrated-gradients samples to run as one pass over the chunk's prompts repeated
    /// (<see cref="IMaskValuesPerRow"/>): as many as the memory budget's rows allow, or without a budget as fit
    /// <see cref="PackedPassBytes"/>; 1 when the model cannot set mask values per row.
    /// </summary>
    internal static int SamplesPerPass(IPatchableModel model, PromptBatch batch, long count, int samples)
    {
        if (samples == 1 || model is not IMaskValuesPerRow)
        {
            return 1;
        }

        // The masks are set to the largest sample value here, so the figure is that of a differentiable pass.
        return (int)Math.Clamp(PassRows(model, batch) / Math.Max(1, count), 1, samples);
    }

    /// <summary>
    /// The samples of <paramref name="group"/> as one pass: the prompts repeated once per sample, row block <c>j</c>
    /// patched with every mask at <c>group[j]</c> (mask 0 plus a value per row), the loss the sum of the blocks' losses;
    /// the masks' gradient is the sum of the samples' gradients, as if each ran alone.
    /// </summary>
    private void PackedPass(IPatchableModel model, PromptBatch part, Tensor patch, IReadOnlyList<double> group, double? share)
    {
        var k = group.Count;
        var count = part.Size;
        model.SetAllMasks(0);
        var input = torch.cat(Enumerable.Repeat(part.Clean, k).ToArray(), 0); // [k*B, T...]
        var packedPatch = torch.cat(Enumerable.Repeat(patch, k).ToArray(), 1); // [S, B, T, d] -> [S, k*B, T, d]
        var perRow = group.SelectMany(v => Enumerable.Repeat(v, (int)count)).ToArray();
        var rowValues = torch.tensor(perRow, device: model.Device).to_type(model.DType); // [k*B]
        using (model.PatchMode(packedPatch))
        using (((IMaskValuesPerRow)model).MaskValuesPerRow(rowValues))
        {
            var logits = model.Run(input); // [k*B, vocab]
            Tensor? loss = null;
            for (var j = 0; j < k; j++)
            {
                var block = Loss(logits.narrow(0, j * count, count), part);
                loss = loss is null ? block : loss + block;
            }

            if (share is double w)
            {
                loss = loss! * w;
            }

            loss!.backward();
        }
    }

    /// <summary>The loss of one block of output rows for the prompts of <paramref name="part"/>.</summary>
    private Tensor Loss(Tensor logits, PromptBatch part) =>
        Objective.Loss(Objective.TokenValues(logits, Options.GradFunction), part, Options.AnswerFunction);

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
