using System.CommandLine;
using AutoCircuit.Host.Jobs;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// <c>dotnet autocircuit __worker JOB</c> (hidden): runs one algorithm of a run in this process for
/// <c>--isolation process</c>, reading the job and writing the scores in the run's staging folder.
/// </summary>
internal static class WorkerCommand
{
    private static readonly Argument<string> JobArgument = new("job") { Description = "The job file the host wrote." };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter error)
    {
        var command = new Command(IsolatedRunner.WorkerCommandName, "Runs one algorithm of a run in a worker process (internal).")
        {
            Hidden = true,
        };
        command.Arguments.Add(JobArgument);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
            ProgressDisplay.Run(error, token, env => AlgorithmWorker.Run(parse.GetValue(JobArgument)!, env)))));
        return command;
    }

    /// <summary>
    /// How to start this tool again: its apphost (<c>dotnet-autocircuit</c>, also a dotnet tool's shim), else the
    /// <c>dotnet</c> host running this assembly.
    /// </summary>
    public static IReadOnlyList<string> Self()
    {
        var assembly = typeof(WorkerCommand).Assembly.Location;
        var host = Environment.ProcessPath;
        if (host is not null && Path.GetFileNameWithoutExtension(host) == Path.GetFileNameWithoutExtension(assembly))
        {
            return [host];
        }

        var dotnet = host is not null && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        return [dotnet, assembly];
    }
}
