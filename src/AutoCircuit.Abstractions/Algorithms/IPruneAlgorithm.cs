using AutoCircuit.Scores;

namespace AutoCircuit;

/// <summary>
/// A circuit-discovery algorithm: scores every edge of the model's graph for the task given by the
/// training batches. Importance of an edge is <c>|score|</c>.
/// </summary>
public interface IPruneAlgorithm
{
    /// <summary>
    /// Computes a score for every edge. Must not leave the model patched, masks trainable or mask
    /// functions set (use the model's scopes with <c>using</c>). Should observe
    /// <see cref="PruneContext.CancellationToken"/> between batches and report progress.
    /// </summary>
    /// <returns>Scores of exactly the graph's mask shapes; the caller takes ownership.</returns>
    PruneScores Run(PruneContext context);
}
