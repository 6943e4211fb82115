using System.Runtime.InteropServices;
using AutoCircuit.Engine;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// SIGINT and SIGTERM as cancellation: the first one cancels <see cref="Token"/> (the job stops at its next batch
/// boundary, removes what it had not finished and exits <see cref="ExitCode.Cancelled"/> or
/// <see cref="ExitCode.Terminated"/>); a second one gets the default action (the process ends at once), so a run stuck
/// in a step that does not observe cancellation can still be stopped.
/// </summary>
/// <remarks>Registered by <c>Program</c> only: tests invoke the command line in their own process and pass a token.</remarks>
internal sealed class ProcessSignals : IDisposable
{
    private static PosixSignal? s_received;

    private readonly CancellationTokenSource _cancellation = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _gate = new();

    private ProcessSignals()
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, Handle));
        }
    }

    /// <summary>The first signal this process received, or <c>null</c>.</summary>
    public static PosixSignal? Received => s_received;

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>Starts routing SIGINT and SIGTERM to <see cref="Token"/>.</summary>
    public static ProcessSignals Register() => new();

    /// <summary>The exit code for a run cancelled by <paramref name="signal"/> (a token cancelled otherwise: 130).</summary>
    public static ExitCode ExitCodeFor(PosixSignal? signal) =>
        signal == PosixSignal.SIGTERM ? ExitCode.Terminated : ExitCode.Cancelled;

    /// <summary>How a cancelled line names its cause.</summary>
    public static string Describe(PosixSignal? signal) => signal switch
    {
        PosixSignal.SIGTERM => "terminated (SIGTERM)",
        PosixSignal.SIGINT => "cancelled (SIGINT)",
        _ => "cancelled",
    };

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }

        _cancellation.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        lock (_gate)
        {
            if (s_received is not null)
            {
                context.Cancel = false; // the second signal: default action, the process ends now
                return;
            }

            s_received = context.Signal;
        }

        context.Cancel = true;
        _cancellation.Cancel();
    }
}
