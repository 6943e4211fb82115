using AutoCircuit.Engine;

namespace AutoCircuit.Host.Tasks;

/// <summary>The built-in tasks (<c>--task KEY</c>).</summary>
public static class TaskCatalog
{
    /// <summary>The task of <c>dotnet autocircuit run</c> without arguments.</summary>
    public const string DefaultTask = "induction";

    /// <summary>auto-circuit's micro model with our generated vector prompts.</summary>
    public static TaskDefinition Micro { get; } = new()
    {
        Key = "micro",
        Description = "auto-circuit's two-layer micro model on generated vector prompts (corrupt = -clean)",
        DefaultModel = "micro",
        ModelHint = "the built-in micro model",
        Dataset = _ => MicroTask.Dataset(),
    };

    /// <summary>Every built-in task, the default first.</summary>
    public static IReadOnlyList<TaskDefinition> All { get; } =
    [
        InductionTask.Definition,
        Micro,
        IoiTask.Definition,
        IoiTask.TokenDefinition,
        GreaterThanTask.Definition,
        StoriesPronounTask.Definition,
    ];

    /// <summary>A task by key.</summary>
    /// <exception cref="AutoCircuitException">Unknown key (the known ones are listed).</exception>
    public static TaskDefinition Find(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return All.FirstOrDefault(t => string.Equals(t.Key, key.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new AutoCircuitException($"--task {key}: unknown task (known: {string.Join(", ", All.Select(t => t.Key))}).");
    }
}
