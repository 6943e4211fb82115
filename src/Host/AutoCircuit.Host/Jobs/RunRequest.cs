using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit run</c> was asked to do.</summary>
public sealed record RunRequest
{
    /// <summary>Model, data, graph, seed, machine, results folder, plugins.</summary>
    public JobRequest Job { get; init; } = new();

    /// <summary>Algorithm specs; empty means <see cref="RunJob.DefaultAlgorithms"/>.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>How each algorithm's circuits are evaluated on the test split (<c>--edges</c>, <c>--patch-type</c>,
    /// <c>--ablation</c>, <c>--reverse</c>).</summary>
    public EvaluationSettings Evaluation { get; init; } = EvaluationSettings.Default;

    /// <summary>Interchange files written per algorithm under <c>exports/&lt;key&gt;/</c> (none by default).</summary>
    public ScoresExports Exports { get; init; } = ScoresExports.None;

    /// <summary>How many top edges to print per algorithm.</summary>
    public int TopEdges { get; init; } = 10;

    /// <summary>Which algorithms run in a worker process (<c>--isolation</c>); by default plugins from outside the tool.</summary>
    public AlgorithmIsolation Isolation { get; init; } = AlgorithmIsolation.Auto;

    /// <summary>
    /// The program and leading arguments that start the tool, for worker processes (the tool sets it). Without it every
    /// algorithm runs in this process: <see cref="AlgorithmIsolation.Process"/> is then refused.
    /// </summary>
    public IReadOnlyList<string>? WorkerCommand { get; init; }
}
