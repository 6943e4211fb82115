using System.CommandLine;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit evaluate</c>, and the circuit-evaluation options it shares with <c>run</c>.</summary>
public static class EvaluateCommand
{
    internal static readonly Option<string?> EdgesOption = new("--edges")
    {
        Description = "Circuit sizes to evaluate: all (0..n), logarithmic (1..9, 10, 20.., 100, 200..), groups (cumulative " +
                      "sizes of groups of equal |score|), a list of counts (0,1,2,5) or fractions of the edges (0.1,0.5). " +
                      "0 and n are added when the list has more than two sizes (by run and compare always, so that every curve has " +
                      "an area). Default: auto-circuit's choice (groups when " +
                      "the scores have few distinct values, else logarithmic above 200 edges, else all).",
        HelpName = "all|logarithmic|groups|LIST",
    };

    internal static readonly Option<string> PatchTypeOption = new("--patch-type")
    {
        Description = "edge: patch the circuit's edges with clean activations and run on the corrupt input; " +
                      "tree: patch every other edge with corrupt activations and run on the clean input.",
        DefaultValueFactory = _ => "edge",
    };

    internal static readonly Option<string> AblationOption = new("--ablation")
    {
        Description = "What patched edges carry: resample, zero, tokenwise-mean-clean, tokenwise-mean-corrupt, " +
                      "tokenwise-mean-clean-and-corrupt, batch-tokenwise-mean, batch-all-tok-mean.",
        DefaultValueFactory = _ => "resample",
    };

    internal static readonly Option<bool> ReverseOption = new("--reverse")
    {
        Description = "Swap clean and corrupt prompts (for the input and the ablations).",
    };

    internal static readonly Option<string> ScoresOption = new("--scores", "-s")
    {
        Description = "Scores file: DIR/scores/<key>.json|.safetensors of a run, auto-circuit prune scores exported as JSON " +
                      "({\"<module name>\": nested arrays}), an edge-list CSV (src,dest,position,score), or a MIB graph file " +
                      "or submission folder (see --scores-format).",
        HelpName = "FILE",
        Required = true,
    };

    internal static readonly Option<string?> CircuitOption = new("--circuit")
    {
        Description = "A known circuit for a ROC curve: a JSON array of edge names (\"src->dest\", every token position) " +
                      "or {\"name\": ..., \"seq\": N} objects. Default: the task's known circuit, if it has one.",
        HelpName = "FILE",
    };

    /// <summary>The evaluation settings given on a command line.</summary>
    internal static EvaluationSettings Settings(ParseResult parse) =>
        EvaluationSettings.Parse(
            parse.GetValue(EdgesOption), parse.GetValue(PatchTypeOption), parse.GetValue(AblationOption), parse.GetValue(ReverseOption));

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var job = new JobOptions(plugins: false);
        var command = new Command(
            "evaluate",
            "Evaluate the circuits of a saved scores file on a task's test split: for each circuit size patch the top edges " +
            "and measure auto-circuit's fourteen prune metrics, their areas under the curve and (with --circuit) the ROC " +
            "curve. Writes DIR/evaluate.json and DIR/circuits/<key>.json|.csv (the folder appears only when the evaluation " +
            "completes) and prints the CSV on stdout; progress and logs go to stderr.\n\n" + CommandLine.ExitCodesHelp);
        CommandLine.AddOptions(
            command,
            [
                ScoresOption, CompareCommand.ScoresFormatOption, .. job.Subject,
                EdgesOption, PatchTypeOption, AblationOption, ReverseOption, CircuitOption, .. job.GraphAndData,
                .. job.Performance.All,
            ]);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var request = new EvaluateRequest
            {
                Job = job.Bind(parse),
                Scores = parse.GetValue(ScoresOption)!,
                ScoresFormat = ScoresInterchange.ParseFormat(parse.GetValue(CompareCommand.ScoresFormatOption)),
                Settings = Settings(parse),
                Circuit = parse.GetValue(CircuitOption),
            };
            return ProgressDisplay.Run(output, error, parse.GetValue(job.NoProgress), token, env => EvaluateJob.Execute(request, env));
        })));
        return command;
    }
}
