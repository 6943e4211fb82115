using System.Reflection;
using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit;

/// <summary>
/// Runs an algorithm under the model's patch memory budget (<see cref="IPatchMemoryBudget"/>) the way its
/// <see cref="MemoryBudgetSupport"/> says: a <see cref="MemoryBudgetSupport.BatchSeparable"/> algorithm is run once per
/// equal part of the batches and the scores averaged, so it never sees more prompts per batch than fit; an algorithm
/// that patches whole batches without saying how it keeps to the budget gets a warning in the run log. Hosts call
/// this instead of <see cref="IPruneAlgorithm.Run"/>.
/// </summary>
public static class MemoryBudgetRunner
{
    /// <summary>
    /// Runs <paramref name="algorithm"/> on <paramref name="context"/> within the model's memory budget. Without a
    /// budget, or when every batch fits, this is exactly <c>algorithm.Run(context)</c>.
    /// </summary>
    /// <remarks>
    /// A batch-separable run over <c>k</c> parts seeds torch with <see cref="PruneContext.Seed"/> before each part
    /// and returns <c>Σ_j scores_j / k</c>, where part <c>j</c> holds prompts <c>j·n/k .. (j+1)·n/k - 1</c> of every
    /// batch of <c>n</c> prompts; <c>n/k</c> is the largest divisor of <c>n</c> that fits the budget, so the parts
    /// have equal sizes (as <see cref="PruneContext.TrainBatches"/> promise) and a mean over prompts is the mean of
    /// the parts' means.
    /// </remarks>
    public static PruneScores Run(IPruneAlgorithm algorithm, PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(context);
        var batches = context.TrainBatches;
        var support = SupportOf(algorithm);
        if (support is MemoryBudgetSupport.ChunksItself or MemoryBudgetSupport.NoPatching ||
            context.Model is not IPatchMemoryBudget budget || batches.Count == 0)
        {
            return algorithm.Run(context);
        }

        var size = batches[0].Size;
        var rows = batches.Min(b => budget.MaxPatchRows(b) is int r ? Math.Max(1, (long)r) : long.MaxValue);
        if (rows >= batches.Max(b => b.Size))
        {
            return algorithm.Run(context);
        }

        var name = algorithm.GetType().FullName;
        if (support != MemoryBudgetSupport.BatchSeparable)
        {
            var why = support == MemoryBudgetSupport.Unsupported
                ? "it declares MemoryBudget = Unsupported"
                : "it does not declare how it keeps to the budget (MemoryBudget on its [PruneAlgorithm]) and does not call RowChunks";
            context.Log($"warning: {name} patches whole batches of {size} prompts, but the patch memory budget fits " +
                        $"{rows}; this run will use more memory than the budget allows ({why}).");
            return algorithm.Run(context);
        }

        if (batches.Any(b => b.Size != size))
        {
            context.Log($"warning: {name} is batch-separable, but its batches have different sizes " +
                        $"({string.Join(", ", batches.Select(b => b.Size).Distinct())}), so they cannot be split into " +
                        "equal parts; it runs on whole batches and will use more memory than the budget allows.");
            return algorithm.Run(context);
        }

        var partSize = LargestDivisorAtMost(size, rows);
        var parts = size / partSize;
        context.Log($"{name}: batches of {size} prompts do not fit the patch memory budget ({rows}); running it on " +
                    $"{parts} parts of {partSize} prompts and averaging the scores (MemoryBudget = BatchSeparable).");
        PruneScores? total = null;
        try
        {
            for (long part = 0; part < parts; part++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                var partBatches = batches.Select(b => b.Rows(part * partSize, partSize)).ToList();
                try
                {
                    torch.random.manual_seed(context.Seed);
                    var scores = algorithm.Run(WithBatches(context, partBatches));
                    if (total is null)
                    {
                        total = scores;
                        continue;
                    }

                    using (scores)
                    {
                        foreach (var (module, tensor) in scores)
                        {
                            total[module].add_(tensor);
                        }
                    }
                }
                finally
                {
                    foreach (var b in partBatches)
                    {
                        b.Dispose(); // views: the data stay
                    }
                }
            }

            foreach (var (_, tensor) in total!)
            {
                tensor.div_(parts);
            }

            return total;
        }
        catch
        {
            total?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The memory-budget support <paramref name="algorithm"/>'s registry records for its class (read from the one
    /// <see cref="AlgorithmRegistryAttribute"/> of its assembly); <see cref="MemoryBudgetSupport.Undeclared"/> when
    /// the assembly has no registry or a registry from SDK 1.0, which did not record it.
    /// </summary>
    public static MemoryBudgetSupport SupportOf(IPruneAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        var type = algorithm.GetType();
        var registry = type.Assembly.GetCustomAttribute<AlgorithmRegistryAttribute>();
        return registry?.Algorithms.FirstOrDefault(d => d.AlgorithmTypeName == type.FullName)?.MemoryBudget ?? MemoryBudgetSupport.Undeclared;
    }

    private static long LargestDivisorAtMost(long n, long limit)
    {
        for (var d = Math.Min(n, limit); d > 1; d--)
        {
            if (n % d == 0)
            {
                return d;
            }
        }

        return 1;
    }

    private static PruneContext WithBatches(PruneContext context, IReadOnlyList<PromptBatch> batches) => new()
    {
        Model = context.Model,
        TrainBatches = batches,
        KnownEdges = context.KnownEdges,
        Seed = context.Seed,
        Progress = context.Progress,
        CancellationToken = context.CancellationToken,
        Log = context.Log,
    };
}
