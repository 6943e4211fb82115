using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;

namespace AutoCircuit.Tool.Cli;

/// <summary>The <c>dotnet autocircuit</c> command tree.</summary>
public static class CommandLine
{
    /// <summary>Exit codes as shown in <c>--help</c> (see <see cref="ExitCode"/>).</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 ok; 1 usage error or bad input; 2 plugin error; 3 device unavailable; " +
        "4 an algorithm failed (the others' results are kept); 130 cancelled.";

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "AutoCircuit for .NET: find which edges of a neural network's computational graph carry a behaviour " +
            "(a port of auto-circuit). Scores every edge with circuit-discovery algorithms and writes the results " +
            "as JSON and safetensors, evaluates the circuits they define, and compares algorithms in a report.\n\n" + ExitCodesHelp +
            "\n\nEnvironment: AUTOCIRCUIT_THREADS (default --threads), AUTOCIRCUIT_PLUGINS (plugin folders, ':'-separated), " +
            "AUTOCIRCUIT_LIBTORCH (an installed libtorch's library folder, e.g. a PyTorch install's torch/lib, for builds " +
            "made with -p:TorchBackend=none).")
        {
            RunCommand.Create(output, error),
            EvaluateCommand.Create(output, error),
            CompareCommand.Create(output, error),
            ListCommand.Create(output, error),
            LogitsCommand.Create(output, error),
            GenerateCommand.Create(output, error),
            TrainToyCommand.Create(output, error),
            BenchCommand.Create(output, error),
            RandomCheckpointCommand.Create(output, error),
        };
        return root;
    }

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            NativeLibTorch.PreloadFromEnvironment();
        }
        catch (AutoCircuitException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return (int)e.ExitCode;
        }

        var root = Build(output, error);
        var parse = root.Parse(args);
        var config = new InvocationConfiguration { Output = output, Error = error };
        return await parse.InvokeAsync(config).ConfigureAwait(false);
    }

    /// <summary>Adds <paramref name="options"/> to <paramref name="command"/> in order (the order <c>--help</c> lists them).</summary>
    internal static void AddOptions(Command command, IEnumerable<Option> options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// Runs a command body, turning anticipated failures into one line on stderr and their exit code.
    /// Unanticipated exceptions propagate with their stack trace.
    /// </summary>
    public static int Guard(TextWriter error, Func<ExitCode> body)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return (int)body();
        }
        catch (AutoCircuitException e)
        {
            error.WriteLine($"error: {e.Message}");
            return (int)e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("cancelled: no results were written.");
            return (int)ExitCode.Cancelled;
        }
        catch (TypeInitializationException e) when (IsLibTorchLoadFailure(e))
        {
            error.WriteLine($"error: {NativeLibTorch.LoadFailureHelp}");
            return (int)ExitCode.DeviceUnavailable;
        }
    }

    /// <summary>TorchSharp's static initialiser failed to find libtorch (it throws NotSupportedException then).</summary>
    public static bool IsLibTorchLoadFailure(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is NotSupportedException or DllNotFoundException && x.Message.Contains("libtorch", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
