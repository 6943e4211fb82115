using System.CommandLine;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit evaluate</c>, and the circuit-evaluation options it shares with <c>run</c>.</summary>
internal static class EvaluateCommand
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

    internal static readonly Option<string> ProtocolOption = new("--protocol")
    {
        Description = "auto-circuit: its circuit sizes (--edges) and fourteen metrics. mib: the MIB circuit track's protocol: " +
                      "circuits of .001, .002, .005, .01, .02, .05, .1, .2, .5 and 1 of the edges (--edges does not apply), " +
                      "signed ranking unless --absolute, --prune on, faithfulness (circuit - empty) / (full - empty) of the " +
                      "logit difference, CPR and CMD (written under \"mib\" in circuits/<key>.json).",
        DefaultValueFactory = _ => "auto-circuit",
    };

    internal static readonly Option<string> SelectOption = new("--select")
    {
        Description = "How each circuit's edges are chosen: top-k (the k best-scored edges) or greedy (EAP-IG's apply_greedy: " +
                      "from the logits up, always the best-scored edge into a node already in the circuit).",
        DefaultValueFactory = _ => "top-k",
    };

    internal static readonly Option<bool> AbsoluteOption = new("--absolute")
    {
        Description = "Rank edges by |score| (the default of --protocol auto-circuit).",
    };

    internal static readonly Option<bool> SignedOption = new("--signed")
    {
        Description = "Rank edges by their signed score (the default of --protocol mib).",
    };

    internal static readonly Option<bool?> PruneOption = new("--prune")
    {
        Description = "Drop the edges of each circuit that are not on a path from the input to the logits inside it, until none " +
                      "is left to drop (EAP-IG's Graph.prune). On by default with --protocol mib; --prune false turns it off.",
    };

    internal static readonly Option<string> LevelOption = new("--level")
    {
        Description = "edge: circuits are the selected edges. node: every node a selected edge touches is in, with every edge " +
                      "between nodes that are in.",
        DefaultValueFactory = _ => "edge",
    };

    internal static readonly Option<int?> BootstrapOption = new("--bootstrap")
    {
        Description = "Resamples of the test prompts (with replacement, seeded by --seed) for 95% percentile intervals of every " +
                      "metric, area, faithfulness, CPR and CMD, written under \"bootstrap\" in circuits/<key>.json and drawn in the " +
                      "report; 0 turns them off. Default: 1000 with --protocol mib, else 0.",
        HelpName = "N",
    };

    /// <summary>The circuit-selection, protocol and bootstrap options, in help order.</summary>
    internal static IEnumerable<Option> SelectionOptions =>
        [ProtocolOption, SelectOption, AbsoluteOption, SignedOption, PruneOption, LevelOption, BootstrapOption];

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
    internal static EvaluationSettings Settings(ParseResult parse, long seed) =>
        WithSelection(
            parse,
            seed,
            EvaluationSettings.Parse(
                parse.GetValue(EdgesOption), parse.GetValue(PatchTypeOption), parse.GetValue(AblationOption), parse.GetValue(ReverseOption)));

    /// <summary><paramref name="settings"/> with the selection and protocol given on the command line.</summary>
    internal static EvaluationSettings WithSelection(ParseResult parse, long seed, EvaluationSettings settings)
    {
        var protocol = CircuitSelection.ParseProtocol(parse.GetValue(ProtocolOption));
        if (protocol == EvaluationProtocol.Mib && parse.GetValue(EdgesOption) is not null)
        {
            throw new AutoCircuitException("--edges does not apply with --protocol mib (its sizes are fractions of the edges).");
        }

        var resamples = parse.GetValue(BootstrapOption) ?? (protocol == EvaluationProtocol.Mib ? 1000 : 0);
        if (resamples < 0)
        {
            throw new AutoCircuitException($"--bootstrap {resamples}: expected a number of resamples, 0 or more.");
        }

        return settings with
        {
            Protocol = protocol,
            BootstrapResamples = resamples,
            BootstrapSeed = seed,
            Selection = CircuitSelection.Parse(
                parse.GetValue(SelectOption), parse.GetValue(AbsoluteOption), parse.GetValue(SignedOption), parse.GetValue(PruneOption),
                parse.GetValue(LevelOption)),
        };
    }

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var job = new JobOptions(plugins: false);
        var command = new Command(
            "evaluate",
            "Evaluate the circuits of a saved scores file on a task's test split: for each circuit size patch the top edges " +
            "and measure auto-circuit's fourteen prune metrics, their areas under the curve and (with --circuit) the ROC " +
            "curve. Writes DIR/evaluate.json and DIR/circuits/<key>.json|.csv (the folder appears only when the evaluation " +
            "completes) and prints the CSV on stdout; progress and logs go to stderr.");
        CommandLine.AddOptions(
            command,
            [
                ScoresOption, CompareCommand.ScoresFormatOption, .. job.Subject,
                EdgesOption, PatchTypeOption, AblationOption, ReverseOption, .. SelectionOptions, CircuitOption, .. job.GraphAndData,
                .. job.Performance.All,
            ]);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var request = new EvaluateRequest
            {
                Job = job.Bind(parse),
                Scores = parse.GetValue(ScoresOption)!,
                ScoresFormat = ScoresInterchange.ParseFormat(parse.GetValue(CompareCommand.ScoresFormatOption)),
                Settings = Settings(parse, parse.GetValue(job.Seed)),
                Circuit = parse.GetValue(CircuitOption),
            };
            return ProgressDisplay.Run(output, error, parse.GetValue(job.NoProgress), token, env => EvaluateJob.Execute(request, env));
        })));
        return command;
    }
}
