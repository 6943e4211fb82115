using System.Diagnostics;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Host.Algorithms;

/// <summary>The outcome of one algorithm run.</summary>
/// <param name="Scores">The scores on the CPU (float32), or <c>null</c> when the algorithm failed.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="Error">Why it failed, or <c>null</c>.</param>
internal sealed record AlgorithmOutcome(PruneScores? Scores, TimeSpan Elapsed, string? Error) : IDisposable
{
    /// <summary>Whether the algorithm produced valid scores.</summary>
    public bool Succeeded => Scores is not null;

    /// <inheritdoc />
    public void Dispose() => Scores?.Dispose();
}

/// <summary>
/// Runs algorithms the same way every time: seeds torch, opens a dispose scope, keeps to the patch
/// memory budget (<see cref="MemoryBudgetRunner"/>), observes cancellation, checks the result's shapes
/// and finiteness, and isolates failures so one algorithm's exception or NaN scores do not stop the others.
/// </summary>
internal static class AlgorithmRunner
{
    /// <summary>Runs one configured algorithm.</summary>
    /// <exception cref="OperationCanceledException">The run was cancelled (not treated as an algorithm failure).</exception>
    public static AlgorithmOutcome Run(IPruneAlgorithm algorithm, PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(context);
        torch.random.manual_seed(context.Seed);
        var sw = Stopwatch.StartNew();
        try
        {
            using var scope = torch.NewDisposeScope();
            // Under a patch memory budget, batch-separable algorithms run on parts of the batches; others are warned.
            using var scores = MemoryBudgetRunner.Run(algorithm, context);
            if (scores is null)
            {
                return new AlgorithmOutcome(null, sw.Elapsed, "returned no scores");
            }

            if (!ReferenceEquals(scores.Graph, context.Graph))
            {
                foreach (var m in context.Graph.DestModules)
                {
                    PruneScores.CheckShape(m, scores[m.ModuleName]);
                }
            }

            if (scores.HasNonFinite())
            {
                return new AlgorithmOutcome(null, sw.Elapsed, "produced NaN or infinite scores");
            }

            var cpu = scores.ToCpu();
            return new AlgorithmOutcome(cpu, sw.Elapsed, null);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            // OutOfMemoryException too: the algorithm's allocations are garbage now, and the algorithms that finished
            // before it keep their results (exit code 4).
            if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_DEBUG") is { Length: > 0 } debug && debug != "0")
            {
                context.Log($"{e.GetType().Name}: {e.Message}\n{e.StackTrace}"); // the caller reports the one-line reason
            }

            return new AlgorithmOutcome(null, sw.Elapsed, $"{e.GetType().Name}: {e.Message}");
        }
    }
}
