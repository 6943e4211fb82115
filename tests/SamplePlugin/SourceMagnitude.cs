using AutoCircuit;
using AutoCircuit.Scores;
using TorchSharp;

namespace SamplePlugin;

/// <summary>Options of <see cref="SourceMagnitude"/>: declared once, bound from <c>-a key:normalize=true</c> and score files.</summary>
[AlgorithmOptions]
public sealed record SourceMagnitudeOptions
{
    /// <summary>Divide every score by the largest |score|.</summary>
    [Option("normalize", Description = "Divide every score by the largest |score|.")]
    public bool Normalize { get; init; }
}

/// <summary>
/// A sample third-party algorithm: each edge scores the magnitude of its source's mean clean activation, the same
/// for every head and position of its destination (with the default options, exactly what the built-in
/// activation-magnitude computes; the tests check that they agree).
/// </summary>
[PruneAlgorithm("sample-source-magnitude", Name = "Source magnitude (sample plugin)", Description = "|mean clean activation| of each edge's source.")]
public sealed class SourceMagnitude(SourceMagnitudeOptions options) : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scores = context.Model.NewPruneScores();
        using var _ = torch.inference_mode();
        foreach (var batch in context.TrainBatches)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var outputs = context.Model.SourceAblations(batch.Clean);                       // [n_src, batch, seq, d]
            var magnitudes = outputs.mean([1L, 2L, 3L]).abs() / context.TrainBatches.Count; // [n_src]
            foreach (var destination in scores.Destinations)
            {
                destination.AddPerGraphSource(magnitudes); // the same for every head and position
            }
        }

        if (options.Normalize)
        {
            using var flat = scores.Flatten();
            using var magnitude = flat.abs();
            using var largest = magnitude.max();
            foreach (var destination in scores.Destinations)
            {
                destination.Tensor.div_(largest);
            }
        }

        return scores;
    }
}
