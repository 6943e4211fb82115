using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Host;

namespace AutoCircuit.Tool.Cli;

/// <summary>The <c>dotnet autocircuit</c> command tree.</summary>
internal static class CommandLine
{
    /// <summary>Exit codes as shown in <c>--help</c> (see <see cref="ExitCode"/>).</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 ok; 1 usage error or bad input; 2 plugin error; 3 device unavailable; " +
        "4 an algorithm failed (the others' results are kept); 70 internal error (see the crash log named); " +
        "130 cancelled (SIGINT, Ctrl+C); 143 terminated (SIGTERM).";

    /// <summary><c>--verbose</c>: stack traces on stderr (also <c>AUTOCIRCUIT_DEBUG=1</c>).</summary>
    internal static readonly Option<bool> VerboseOption = new("--verbose")
    {
        Description = "Print stack traces of errors on stderr (also AUTOCIRCUIT_DEBUG=1); without it an error is one line, " +
                      "and an unexpected one points at a crash log.",
        Recursive = true,
    };

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build(TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "AutoCircuit for .NET: find which edges of a neural network's computational graph carry a behaviour " +
            "(a port of auto-circuit). Scores every edge with circuit-discovery algorithms and writes the results " +
            "as JSON and safetensors, evaluates the circuits they define, and compares algorithms in a report.\n\n" + ExitCodesHelp +
            "\n\nEnvironment: AUTOCIRCUIT_THREADS (default --threads), AUTOCIRCUIT_PLUGINS (plugin folders, ':'-separated), " +
            "AUTOCIRCUIT_LIBTORCH (an installed libtorch's library folder, e.g. a PyTorch install's torch/lib, for builds " +
            "made with -p:TorchBackend=none). " + HubOptions.EnvironmentHelp)
        {
            RunCommand.Create(output, error),
            EvaluateCommand.Create(output, error),
            CompareCommand.Create(output, error),
            ListCommand.Create(output, error),
            LogitsCommand.Create(output, error),
            TokenizeCommand.Create(output, error),
            GenerateCommand.Create(output, error),
            TrainToyCommand.Create(output, error),
            BenchCommand.Create(output, error),
            WorkerCommand.Create(error),
            SweepCommand.Create(output, error),
            RandomCheckpointCommand.Create(output, error),
        };
        root.Options.Add(VerboseOption);
        return root;
    }

    /// <summary>Parses and runs a command line; returns the exit code.</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error) =>
        InvokeAsync(args, output, error, CancellationToken.None);

    /// <summary>
    /// Parses and runs a command line with <paramref name="cancellation"/> (the process's SIGINT/SIGTERM, see
    /// <c>ProcessSignals</c>); returns the exit code. stdout carries data only: a parse error is reported on stderr,
    /// without the help text. An exception nobody anticipated ends as one line and a crash log (<see cref="CrashReport"/>).
    /// </summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            OpenMpEnvironment.Apply(); // before libtorch loads: OpenMP reads its environment once
            NativeHeap.Apply(); // keep freed native memory for the next pass (before the first tensor)
            NativeLibTorch.PreloadFromEnvironment();
        }
        catch (AutoCircuitException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return (int)e.ExitCode;
        }

        try
        {
            var root = Build(output, error);
            var parse = root.Parse(args);
            CrashReport.Begin(parse.GetValue(VerboseOption), args);
            var config = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null, // ProcessSignals handles SIGINT/SIGTERM
            };
            if (parse.Errors.Count > 0)
            {
                // One line on stderr, never the help: stdout carries data only.
                await error.WriteLineAsync(ParseErrorLine(parse)).ConfigureAwait(false);
                return (int)ExitCode.UsageError;
            }

            // A hidden command stays out of the root's list, but asked for its own --help it explains itself
            // (System.CommandLine writes nothing for a hidden command).
            if (parse.CommandResult.Command is { Hidden: true } hidden && parse.Action is System.CommandLine.Help.HelpAction)
            {
                hidden.Hidden = false;
            }

            return await parse.InvokeAsync(config, cancellation).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return CrashReport.Report(error, e);
        }
    }

    /// <summary>
    /// A parse error as one line: a mistyped option or command names the closest one ("did you mean"), else where to
    /// look; any other error is the parser's message(s).
    /// </summary>
    internal static string ParseErrorLine(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse.CommandResult);
        if (parse.UnmatchedTokens.FirstOrDefault() is { } token)
        {
            var isOption = token.StartsWith('-');
            var subcommands = command.Subcommands.Where(c => !c.Hidden).ToList();
            var kind = isOption ? "option" : subcommands.Count > 0 ? "command" : "argument";
            var candidates = isOption
                ? command.Options.Concat(parse.RootCommandResult.Command.Options.Where(o => o.Recursive))
                    .SelectMany(o => o.Aliases.Prepend(o.Name))
                : subcommands.Select(c => c.Name);
            return Spelling.Closest(token, candidates) is { } meant
                ? $"error: unknown {kind} '{token}' for '{path}'; did you mean '{meant}'?"
                : $"error: unknown {kind} '{token}' for '{path}' ('{path} --help' lists {(kind == "command" ? "the commands" : "the options")}).";
        }

        return "error: " + string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.'))) + $" ('{path} --help' explains).";
    }

    private static string CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new List<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(r.Parent is null ? "dotnet autocircuit" : r.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
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
    /// Runs a command body, turning anticipated failures into one line on stderr and their exit code: an
    /// <see cref="AutoCircuitException"/>, cancellation (SIGINT 130, SIGTERM 143), a file system error (its message
    /// names the path). Anything else is a bug: one line pointing at a crash log (<see cref="CrashReport"/>).
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
            error.WriteLine($"error: {CrashReport.OneLine(e.Message)}");
            WriteTraceIfVerbose(error, e);
            return (int)e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            var signal = ProcessSignals.Received;
            error.WriteLine($"{ProcessSignals.Describe(signal)}: stopped; unfinished results were removed.");
            return (int)ProcessSignals.ExitCodeFor(signal);
        }
        catch (TypeInitializationException e) when (IsLibTorchLoadFailure(e))
        {
            error.WriteLine($"error: {NativeLibTorch.LoadFailureHelp}");
            return (int)ExitCode.DeviceUnavailable;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not FileNotFoundException)
        {
            // The environment, not a bug: a full disk, a read-only or forbidden folder. .NET's messages name the path.
            error.WriteLine($"error: {CrashReport.OneLine(e.Message)}");
            WriteTraceIfVerbose(error, e);
            return (int)ExitCode.UsageError;
        }
        catch (Exception e)
        {
            return CrashReport.Report(error, e);
        }
    }

    private static void WriteTraceIfVerbose(TextWriter error, Exception e)
    {
        if (CrashReport.Verbose)
        {
            error.WriteLine(e.ToString());
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
