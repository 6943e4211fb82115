using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Host.Tasks;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// What every job (run, compare, evaluate, and a sweep's cells) is asked to work on: the model, the task or dataset
/// and its data options, the graph, the seed, the machine, the results folder and the command line. The job-specific
/// part of a request (<see cref="RunRequest"/>, <see cref="CompareRequest"/>, <see cref="EvaluateRequest"/>) holds one;
/// <see cref="JobSetup.Prepare"/> turns it into a <see cref="JobContext"/>. A sweep derives each cell's with
/// <c>with { ... }</c>.
/// </summary>
public sealed record JobRequest
{
    /// <summary>Model name or checkpoint path; <c>null</c> for the task's (or the default) model.</summary>
    public string? Model { get; init; }

    /// <summary><c>--download</c>: for a model given by Hugging Face name, ask the hub for the revision's newest commit
    /// even when a snapshot is cached (see <see cref="Models.Hub.HubResolver"/>).</summary>
    public bool Download { get; init; }

    /// <summary>Dataset file; <c>null</c> for the task's (or the model's default task's) dataset.</summary>
    public string? Dataset { get; init; }

    /// <summary>A built-in task (<see cref="TaskCatalog"/>): its dataset, data options and known circuit; excludes
    /// <see cref="Dataset"/>.</summary>
    public string? Task { get; init; }

    /// <summary>Split and batch options (including token positions and the shuffle seed); unset ones come from the task.</summary>
    public DataArguments Data { get; init; } = new();

    /// <summary>Factorized (default) or residual graph.</summary>
    public bool Factorized { get; init; } = true;

    /// <summary>Separate Q/K/V destinations for transformers.</summary>
    public bool SeparateQkv { get; init; } = true;

    /// <summary>Seed for the algorithms (torch); the data shuffle seed is <see cref="DataArguments.Seed"/>.</summary>
    public long Seed { get; init; } = 42;

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Compute dtype of the model, which the patch buffers follow (<c>--dtype</c>).</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;

    /// <summary>Storage dtype of a checkpoint's weight matrices (<c>--weight-dtype</c>); <c>null</c>: <see cref="DType"/>.</summary>
    public ScalarType? WeightDType { get; init; }

    /// <summary>Threads, patch memory budget, source buffer type (<c>--threads</c>, <c>--max-patch-memory</c>,
    /// <c>--patch-buffer-dtype</c>).</summary>
    public PerformanceSettings Performance { get; init; } = PerformanceSettings.Default;

    /// <summary>Plugin folders to load algorithms from, besides the built-ins (jobs that run algorithms).</summary>
    public PluginSearchPath Plugins { get; init; } = PluginSearchPath.None;

    /// <summary>Results folder; <c>null</c> for <c>./autocircuit-results/[job-]&lt;timestamp&gt;</c>.</summary>
    public string? Out { get; init; }

    /// <summary>The command line as given, for the job's JSON file.</summary>
    public IReadOnlyList<string> CommandLine { get; init; } = [];
}
