using System.CommandLine;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit run</c>.</summary>
internal static class RunCommand
{
    internal static readonly Option<string[]> AlgorithmOption = new("--algorithm", "-a")
    {
        Description = "Algorithm to run; repeatable. SPEC is a key (see 'list'), key:name=value,name=value " +
                      "(list values separated by ';'), or a preset name. Default: activation-magnitude, mask-gradient (EAP), " +
                      "acdc, subnetwork-probing, random, and ground-truth when the task has a known circuit.",
        HelpName = "SPEC",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static readonly Option<string> ExportOption = new("--export")
    {
        Description = "Interchange files per algorithm, comma-separated: autocircuit (exports/<key>/prune-scores.json), csv " +
                      "(edges.csv), mib (mib/importances.json), mib-circuits (MIB's nine binary circuits), " +
                      "mib-submission (MIB submission folders mib-submission/{edge,node}/<task>_<model>/importances.{json,pt}), " +
                      "all (all but mib-submission), none.",
        DefaultValueFactory = _ => "none",
    };

    internal static readonly Option<int> TopOption = new("--top")
    {
        Description = "How many top edges per algorithm to print on stdout.",
        DefaultValueFactory = _ => 10,
    };

    /// <summary>A fresh <c>--isolation</c> (its value check is added per command tree).</summary>
    internal static Option<string> IsolationOption()
    {
        var option = new Option<string>("--isolation")
        {
            Description = "Where algorithms run: auto (plugins from outside the tool in a worker process each, so one that " +
                      "crashes or calls Environment.Exit fails alone with exit code 4; built-ins in this process), process " +
                      "(every algorithm in a worker), none (all in this process: fastest, a plugin that ends the process ends the run).",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "none", "process");
        return option;
    }

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var job = new JobOptions(plugins: true);
        var isolation = IsolationOption();
        var command = new Command(
            "run",
            "Score every edge of a model's graph with one or more algorithms on a task's train split, then evaluate each " +
            "algorithm's circuits on the test split (see --edges). Writes DIR/run.json, DIR/scores/<key>.json|.safetensors, " +
            "DIR/circuits/<key>.json|.csv and DIR/report.html (the folder appears only when the run completes) and prints the " +
            "top edges on stdout; progress and logs go to stderr.");
        CommandLine.AddOptions(
            command,
            [
                .. job.Subject, AlgorithmOption, .. job.GraphAndData, TopOption,
                EvaluateCommand.EdgesOption, EvaluateCommand.PatchTypeOption, EvaluateCommand.AblationOption,
                EvaluateCommand.ReverseOption, .. EvaluateCommand.SelectionOptions, ExportOption, job.Plugins!, isolation, .. job.Performance.All,
            ]);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var request = new RunRequest
            {
                Job = job.Bind(parse),
                Algorithms = parse.GetValue(AlgorithmOption) ?? [],
                TopEdges = parse.GetValue(TopOption),
                Exports = ScoresInterchange.ParseExports(parse.GetValue(ExportOption)),
                Evaluation = EvaluateCommand.Settings(parse, parse.GetValue(job.Seed)),
                Isolation = parse.GetValue(isolation) switch
                {
                    "none" => AlgorithmIsolation.None,
                    "process" => AlgorithmIsolation.Process,
                    _ => AlgorithmIsolation.Auto,
                },
                WorkerCommand = WorkerCommand.Self(),
            };
            return ProgressDisplay.Run(output, error, parse.GetValue(job.NoProgress), token, env => RunJob.Execute(request, env));
        })));
        return command;
    }
}
