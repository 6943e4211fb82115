using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Host.Jobs;

/// <summary>Everything <c>dotnet autocircuit run</c> was asked to do.</summary>
public sealed record RunRequest
{
    /// <summary>Model name or checkpoint path; <c>null</c> for the default model.</summary>
    public string? Model { get; init; }

    /// <summary><c>--download</c>: ask the hub for the newest commit of a model given by name even when it is cached
    /// (see <see cref="AutoCircuit.Models.Hub.HubResolver"/>).</summary>
    public bool Download { get; init; }

    /// <summary>Dataset file; <c>null</c> for the task's (or the model's default task's) dataset.</summary>
    public string? Dataset { get; init; }

    /// <summary>A built-in task (<see cref="Tasks.TaskCatalog"/>); excludes <see cref="Dataset"/>.</summary>
    public string? Task { get; init; }

    /// <summary>Algorithm specs; empty means activation magnitude.</summary>
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>Plugin folders to load algorithms from (besides the built-ins); none by default.</summary>
    public PluginSearchPath Plugins { get; init; } = PluginSearchPath.None;

    /// <summary>Factorized (default) or residual graph.</summary>
    public bool Factorized { get; init; } = true;

    /// <summary>Separate Q/K/V destinations for transformers.</summary>
    public bool SeparateQkv { get; init; } = true;

    /// <summary>Split and batch options (including token positions and seed); unset ones come from the task.</summary>
    public DataArguments Data { get; init; } = new();

    /// <summary>Seed for algorithms (torch); the data shuffle seed is <see cref="DataArguments.Seed"/>.</summary>
    public long Seed { get; init; } = 42;

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Threads, patch memory budget, buffer type.</summary>
    public PerformanceSettings Performance { get; init; } = PerformanceSettings.Default;

    /// <summary>Results folder; <c>null</c> for <c>./autocircuit-results/&lt;timestamp&gt;</c>.</summary>
    public string? Out { get; init; }

    /// <summary>How each algorithm's circuits are evaluated on the test split (<c>--edges</c>, <c>--patch-type</c>,
    /// <c>--ablation</c>, <c>--reverse</c>).</summary>
    public EvaluationSettings Evaluation { get; init; } = EvaluationSettings.Default;

    /// <summary>Interchange files written per algorithm under <c>exports/&lt;key&gt;/</c> (none by default).</summary>
    public ScoresExports Exports { get; init; } = ScoresExports.None;

    /// <summary>How many top edges to print per algorithm.</summary>
    public int TopEdges { get; init; } = 10;

    /// <summary>The command line as given, for <c>run.json</c>.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];
}
