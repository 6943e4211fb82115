namespace AutoCircuit.Engine;

/// <summary>
/// Exit codes of <c>dotnet autocircuit</c>. Documented in <c>--help</c> and the README; never renumbered.
/// </summary>
public enum ExitCode
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>Bad command line or bad input (file, dataset, option value).</summary>
    UsageError = 1,

    /// <summary>A plugin asked for by name could not be loaded.</summary>
    PluginError = 2,

    /// <summary>The requested device (e.g. CUDA) is not available.</summary>
    DeviceUnavailable = 3,

    /// <summary>An algorithm failed (threw, or produced NaN/infinite scores); the others' results were kept.</summary>
    AlgorithmFailed = 4,

    /// <summary>Interrupted by the user (Ctrl+C).</summary>
    Cancelled = 130,
}
