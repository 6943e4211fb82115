namespace AutoCircuit.Host.Jobs;

/// <summary>Where <c>run</c> runs an algorithm (<c>--isolation</c>).</summary>
public enum AlgorithmIsolation
{
    /// <summary>Plugins from outside the tool in a worker process, built-in algorithms in the tool's process (the default).</summary>
    Auto,

    /// <summary>Every algorithm in the tool's process (fastest; a plugin that ends its process ends the run).</summary>
    None,

    /// <summary>Every algorithm in a worker process of its own.</summary>
    Process,
}
