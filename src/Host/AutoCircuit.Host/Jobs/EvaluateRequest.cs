using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit evaluate</c> was asked to do.</summary>
public sealed record EvaluateRequest
{
    /// <summary>Model, data (circuits are evaluated on the test split), graph (must be the one the scores were computed
    /// on), seed, machine, results folder.</summary>
    public JobRequest Job { get; init; } = new();

    /// <summary>The scores file: ours, auto-circuit's prune scores as <c>{"module": nested arrays}</c>, an edge-list CSV or a
    /// MIB graph file or folder (<see cref="ScoresInterchange"/>).</summary>
    public required string Scores { get; init; }

    /// <summary>How <see cref="Scores"/> is read (<see cref="ScoresInterchange.Detect"/> by default).</summary>
    public ScoresFormat ScoresFormat { get; init; } = ScoresFormat.Auto;

    /// <summary>Sizes, patch type, ablation, reversal.</summary>
    public EvaluationSettings Settings { get; init; } = EvaluationSettings.Default;

    /// <summary>A known circuit (<see cref="KnownCircuitFile"/>) for the ROC curve, or <c>null</c> for the task's.</summary>
    public string? Circuit { get; init; }
}
