using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.IO;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit compare</c> was asked to do.</summary>
public sealed record CompareRequest
{
    /// <summary>Model, data, graph, seed, machine, results folder, plugins.</summary>
    public JobRequest Job { get; init; } = new();

    /// <summary>Algorithm specs (<c>all</c> for every built-in). With neither algorithms nor scores: <c>all</c>.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>Scores files to compare besides the algorithms run here.</summary>
    public IReadOnlyList<string> Scores { get; init; } = [];

    /// <summary>How the scores files are read.</summary>
    public ScoresFormat ScoresFormat { get; init; } = ScoresFormat.Auto;

    /// <summary>Circuit sizes, ablation, reversal, and which patch types.</summary>
    public ComparisonSettings Settings { get; init; } = new();

    /// <summary>A known circuit file (<see cref="KnownCircuitFile"/>) for ROC curves and <c>ground-truth</c>; it replaces
    /// the task's known circuit.</summary>
    public string? Circuit { get; init; }

    /// <summary>The interchange files written per algorithm.</summary>
    public ScoresExports Exports { get; init; } = ScoresExports.AutoCircuit | ScoresExports.Csv | ScoresExports.Mib;
}
