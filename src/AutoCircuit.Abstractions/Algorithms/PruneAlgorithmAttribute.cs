namespace AutoCircuit;

/// <summary>
/// Marks a class as a prune algorithm. The AutoCircuit source generator adds it to the assembly's
/// generated registry, which is how the host finds it (no type scanning).
/// The class must be public, non-abstract, non-generic, implement <see cref="IPruneAlgorithm"/>,
/// and have a public constructor that is parameterless or takes one options record marked with
/// <see cref="AlgorithmOptionsAttribute"/>.
/// </summary>
/// <param name="key">Stable kebab-case identity used by the CLI, score files and tests, e.g. <c>mask-gradient</c>.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class PruneAlgorithmAttribute(string key) : Attribute
{
    /// <summary>The algorithm's key.</summary>
    public string Key { get; } = key;

    /// <summary>Display name (free text). Defaults to the class name.</summary>
    public string? Name { get; set; }

    /// <summary>Short name for plots and tables. Defaults to <see cref="Name"/>.</summary>
    public string? ShortName { get; set; }

    /// <summary>One-paragraph description shown by <c>dotnet autocircuit list</c>.</summary>
    public string? Description { get; set; }

    /// <summary>Whether the algorithm needs the task's known circuit (e.g. ground truth).</summary>
    public bool RequiresKnownEdges { get; set; }

    /// <summary>
    /// How the algorithm keeps to the patch memory budget (<c>--max-patch-memory</c>); see
    /// <see cref="MemoryBudgetSupport"/>. Leaving it undeclared is generator warning <c>ACG0014</c> unless the class
    /// calls the chunking API.
    /// </summary>
    public MemoryBudgetSupport MemoryBudget { get; set; }
}
