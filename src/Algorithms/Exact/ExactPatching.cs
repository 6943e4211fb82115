using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Exact;

/// <summary>
/// Exact patching (EAP-IG's <c>get_scores_exact</c>, method <c>exact</c>; Hanna, Pezzelle and Belinkov, 2024,
/// https://arxiv.org/abs/2403.17806): each edge's true effect, the change of the loss when that edge alone is patched,
/// which the gradient methods approximate. Tree patch (default, EAP-IG's): on the clean input, the loss with only this
/// edge ablated minus the clean loss. Edge patch: on the corrupt input, the corrupt loss minus the loss with only this
/// edge restored to its clean activation. Either way, positive means the edge helps the task; the score is the mean over
/// prompts, i.e. what circuit evaluation measures for the circuit of every other edge (tree) or of this edge (edge).
/// </summary>
/// <remarks>
/// Batched: each forward pass repeats the batch once per candidate edge (<c>edges-per-pass</c>) and patches each copy's
/// own edge at its destination, <c>input += ablation_src − current_src</c> at the edge's head (and position), from the
/// source's output in that same pass, as the patching engine computes it for a one-edge mask.
/// <para>Under a memory budget (<c>--max-patch-memory</c>, <see cref="IPatchMemoryBudget.MaxPatchRows"/> prompts) it
/// sizes its passes itself (<see cref="MemoryBudgetSupport.ChunksItself"/>): <c>max(1, maxRows / batchRows)</c> edges per
/// pass, at most <c>edges-per-pass</c>, and batches of more than <c>maxRows</c> prompts in chunks of prompts, with the
/// batch-mean ablations of the whole batch. Each prompt's loss depends on that prompt alone, so the scores do not
/// change.</para>
/// </remarks>
[PruneAlgorithm(
    "exact",
    Name = "Exact patching",
    ShortName = "Exact",
    Description = "Each edge's true effect: the loss change when that edge alone is patched, many edges per forward " +
        "pass (EAP-IG's exact; slow on large graphs).",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)]
public sealed class ExactPatching(ExactOptions options) : IPruneAlgorithm
{
    /// <summary>The options.</summary>
    public ExactOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        if (model is not IActivationIntervention intervene)
        {
            throw new NotSupportedException(
                $"exact patches one edge per copy of the batch at hook points, which {model.GetType().Name} does not " +
                "support (IActivationIntervention).");
        }

        var o = Options;
        var tree = o.PatchType == PatchType.TreePatch;
        var edges = model.Graph.FlatEdges;
        var batches = context.TrainBatches;
        var prompts = (double)batches.Sum(b => b.Size);
        var scores = model.NewPruneScores();
        using var inference = torch.inference_mode();
        using var datasetMean = o.Ablation.IsMeanOverDataset() ? model.SourceAblations(batches, o.Ablation) : null;
        using var flat = torch.zeros(edges.Count, dtype: model.DType, device: model.Device);
        var plans = batches.Select(b => Chunking(model, b)).ToList();
        using var progress = context.Progress.Start(
            "Exact patching",
            plans.Sum(p => p.Chunks.Count * (long)((edges.Count + p.EdgesPerPass - 1) / p.EdgesPerPass)));
        foreach (var (batch, (chunks, edgesPerPass)) in batches.Zip(plans))
        {
            using var ablations = datasetMean is not null
                ? ChunkedAblations.FromDatasetMean(model, datasetMean)
                : ChunkedAblations.Create(model, o.Ablation == AblationType.Zero ? batch.Clean : batch.Input(!tree), o.Ablation, chunks);
            foreach (var (start, count) in chunks)
            {
                using var scope = torch.NewDisposeScope();
                using var rows = count == batch.Size ? null : batch.Rows(start, count);
                var part = rows ?? batch;
                var input = part.Input(tree);
                var ablation = ablations.For(start, count); // [S, c, T, d]
                var baseline = Losses(model.Run(input), part, 1); // [c]
                for (var first = 0; first < edges.Count; first += edgesPerPass)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                    using var chunkScope = torch.NewDisposeScope();
                    var k = Math.Min(edgesPerPass, edges.Count - first);
                    var plan = new ExactPlan(edges, first, k, count, model.Device);
                    var patch = ablation.index(TensorIndex.Tensor(plan.Slots), TensorIndex.Tensor(plan.Prompts)); // [N, T, d]
                    var current = torch.zeros_like(patch, dtype: model.DType); // each copy's source output in this pass
                    var copies = input.repeat([k, .. Enumerable.Repeat(1L, (int)input.dim() - 1)]); // row e*c + b
                    var output = intervene.ForwardWithIntervention(copies, (name, x) =>
                    {
                        if (plan.Destinations.TryGetValue(name, out var d))
                        {
                            var delta = patch.index(d.Rows).to_type(x.dtype) - current.index(d.Rows); // [n, T, d]
                            if (d.Positions is { } p)
                            {
                                var each = torch.arange(delta.size(0), device: p.device);
                                delta = delta.index(TensorIndex.Tensor(each), TensorIndex.Tensor(p)); // [n, d]
                            }

                            x = x.clone();
                            var at = d.At;
                            x.index_put_(x.index(at) + delta, at);
                        }

                        if (plan.Sources.TryGetValue(name, out var s))
                        {
                            current.index_put_(x.index(s.At).to_type(current.dtype), TensorIndex.Tensor(s.Rows));
                        }

                        return x;
                    });
                    var losses = Losses(model.SliceOutput(output), part, k).view(k, count); // [k, c]
                    var change = tree ? losses - baseline : baseline - losses;
                    flat.narrow(0, first, k).add_(change.sum(1L) / prompts);
                    progress.Advance();
                }
            }
        }

        foreach (var m in model.Graph.DestModules)
        {
            using var part = flat.narrow(0, model.Graph.FlatOffset(m), m.EdgeCount).view(m.MaskShape);
            scores.For(m).CopyFrom(part);
        }

        return scores;
    }

    /// <summary>
    /// The chunks of prompts of <paramref name="batch"/> and the edges per forward pass under the model's memory budget
    /// (<see cref="IPatchMemoryBudget.MaxPatchRows"/>): a pass holds <c>edges × prompts</c> rows, so edges per pass
    /// are <c>max(1, maxRows / prompts)</c>, at most <see cref="ExactOptions.EdgesPerPass"/>; when not even one copy of
    /// the batch fits, the batch is also split into chunks of at most <c>maxRows</c> prompts.
    /// </summary>
    internal (IReadOnlyList<(long Start, long Count)> Chunks, int EdgesPerPass) Chunking(IPatchableModel model, PromptBatch batch)
    {
        var chunks = model.RowChunks(batch);
        if (model is not IPatchMemoryBudget budget || budget.MaxPatchRows(batch) is not int maxRows)
        {
            return (chunks, Options.EdgesPerPass);
        }

        var rows = chunks.Max(c => c.Count);
        return (chunks, (int)Math.Clamp(maxRows / rows, 1, Options.EdgesPerPass));
    }

    /// <summary>
    /// The loss of every prompt of <paramref name="copies"/> copies of the batch, <c>[copies * B]</c>, from the sliced
    /// outputs.
    /// </summary>
    private Tensor Losses(Tensor output, PromptBatch batch, int copies)
    {
        using var answers = Repeat(batch.Answers, copies);
        using var wrong = Repeat(batch.WrongAnswers, copies);
        using var values = Objective.TokenValues(output, Options.GradFunction);
        return Objective.PromptLosses(values, answers, wrong, Options.AnswerFunction);
    }

    private static AnswerSet Repeat(AnswerSet answers, int copies) =>
        new(answers.Ids.repeat(copies, 1), answers.Mask?.repeat(copies, 1));
}
