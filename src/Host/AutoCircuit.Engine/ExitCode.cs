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

    /// <summary>
    /// An unexpected internal error (a bug): one line on stderr points at a crash log with the details
    /// (<c>EX_SOFTWARE</c> of sysexits.h).
    /// </summary>
    InternalError = 70,

    /// <summary>Interrupted by the user (Ctrl+C, SIGINT): 128 + 2.</summary>
    Cancelled = 130,

    /// <summary>Terminated (SIGTERM, e.g. <c>kill</c> or a job scheduler): 128 + 15.</summary>
    Terminated = 143,
}
