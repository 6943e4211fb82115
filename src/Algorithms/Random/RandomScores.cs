using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Algorithms.Random;

/// <summary>
/// The random baseline (auto-circuit's <c>prune_algos/random_edges.py</c>): every edge scores a draw
/// from U[0, 1), one <c>rand_like</c> per destination module in graph order, from torch's global
/// generator (which the host seeds with the run's seed). On the CPU libtorch 2.10 draws the same
/// numbers as PyTorch 1.13 for the same seed, so the scores equal auto-circuit's when its masks are
/// visited in the same order.
/// </summary>
[PruneAlgorithm(
    "random",
    Name = "Random",
    ShortName = "Random",
    Description = "Uniform random scores from the run's seed: the baseline every method should beat.",
    MemoryBudget = MemoryBudgetSupport.NoPatching)]
[PruneAlgorithmPreset("Random", "")]
public sealed class RandomScores : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        var scores = model.NewPruneScores();
        using var _ = torch.inference_mode();
        foreach (var module in model.Graph.DestModules)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var target = scores[module];
            using var draw = torch.rand(module.MaskShape, dtype: target.dtype, device: target.device);
            target.copy_(draw);
        }

        return scores;
    }
}
