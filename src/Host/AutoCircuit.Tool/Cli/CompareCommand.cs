using System.CommandLine;
using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Patching;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit compare</c>.</summary>
internal static class CompareCommand
{
    internal static readonly Option<string[]> ScoresOption = new("--scores", "-s")
    {
        Description = "A saved scores file to compare; repeatable. Ours (scores/<key>.json or .safetensors), auto-circuit's " +
                      "prune scores JSON ({\"<module>\": nested arrays}), an edge-list CSV (src,dest,position,score) or a MIB " +
                      "graph file / submission folder; the format is detected (see --scores-format).",
        HelpName = "FILE",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static readonly Option<string> ScoresFormatOption = new("--scores-format")
    {
        Description = "How --scores files are read: " + ScoresInterchange.FormatNames + ". auto: a folder is MIB, .csv an edge " +
                      "list, .safetensors ours, .json MIB when it has \"cfg\" and \"edges\", else ours / auto-circuit's.",
        DefaultValueFactory = _ => "auto",
    };

    internal static readonly Option<string[]> MetricOption = new("--metric")
    {
        Description = "Metric for the curves and summaries; repeatable (every metric is measured and written to compare.json). " +
                      "Default: logit-diff-percent. Keys: " + string.Join(", ", PruneMetric.All.Select(m => m.Key)) + ".",
        HelpName = "KEY",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static readonly Option<string> PatchTypesOption = new("--patch-type")
    {
        Description = "Which circuits to evaluate: both (edge and tree patch), edge or tree.",
        DefaultValueFactory = _ => "both",
    };

    internal static readonly Option<string?> AgreementKOption = new("--agreement-k")
    {
        Description = "Circuit sizes for top-k overlap, comma-separated. Default: 5, 10, 20, 50, 100, ... below the edge count, " +
                      "and the known circuit's size.",
        HelpName = "LIST",
    };

    internal static readonly Option<int> DiagramEdgesOption = new("--diagram-edges")
    {
        Description = "How many top edges each circuit diagram draws.",
        DefaultValueFactory = _ => 30,
    };

    internal static readonly Option<string> ExportOption = new("--export")
    {
        Description = "Interchange files per algorithm, comma-separated: autocircuit (exports/<label>/prune-scores.json), csv " +
                      "(edges.csv), mib (mib/importances.json), mib-circuits (MIB's nine binary circuits), " +
                      "mib-submission (MIB submission folders mib-submission/{edge,node}/<task>_<model>/importances.{json,pt}), " +
                      "all (all but mib-submission), none.",
        DefaultValueFactory = _ => "autocircuit,csv,mib",
    };

    internal static readonly Option<string?> SweepOption = new("--sweep")
    {
        Description = "Compare a sweep's cells instead (a plan file or a cache folder; see 'sweep'): per task x model, algorithms ranked " +
                      "with bootstrap intervals over seeds, seed-to-seed spread and the ablation-robustness table, as " +
                      "DIR/sweep-compare.json|.csv and report.html. Uses --metric (the first) and --out; the other options do not apply.",
        HelpName = "PLAN|CACHE",
    };

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var job = new JobOptions(plugins: true);
        var command = new Command(
            "compare",
            "Compare algorithms on one task: run each -a algorithm on the train split (-a all, the default without --scores, " +
            "runs every built-in, then every loaded plugin's algorithms) and/or read saved --scores, evaluate each one's circuits on the test split with edge and " +
            "tree patching, measure the ROC curve against --circuit, the wall time and memory, and the agreement of every " +
            "pair (top-k overlap, Spearman correlation). Writes DIR/compare.json, compare.csv, report.html (self-contained: " +
            "curves, ROC, circuit diagrams), scores/, circuits/ and exports/ (the folder appears only when the comparison " +
            "completes) and prints a Markdown summary on stdout; progress and logs go to stderr.");
        CommandLine.AddOptions(
            command,
            [
                SweepOption, .. job.Subject, RunCommand.AlgorithmOption, ScoresOption, ScoresFormatOption, EvaluateCommand.CircuitOption,
                MetricOption, PatchTypesOption, EvaluateCommand.EdgesOption, EvaluateCommand.AblationOption,
                EvaluateCommand.ReverseOption, .. EvaluateCommand.SelectionOptions, AgreementKOption, DiagramEdgesOption, ExportOption, .. job.GraphAndData,
                RunCommand.TopOption, .. job.Performance.All, job.Plugins!,
            ]);
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            if (parse.GetValue(SweepOption) is { } sweep)
            {
                var metrics = ParseMetrics(parse.GetValue(MetricOption));
                return Host.Sweeps.SweepCompare.Execute(
                    sweep, null, metrics[0].Key, parse.GetValue(job.Out), parse.Tokens.Select(t => t.Value).ToList(),
                    Host.RunEnvironment.Plain(output, error, token));
            }

            var evaluation = EvaluateCommand.WithSelection(
                parse,
                parse.GetValue(job.Seed),
                EvaluationSettings.Parse(
                    parse.GetValue(EvaluateCommand.EdgesOption), "edge", parse.GetValue(EvaluateCommand.AblationOption),
                    parse.GetValue(EvaluateCommand.ReverseOption)));
            var request = new CompareRequest
            {
                Job = job.Bind(parse),
                Algorithms = parse.GetValue(RunCommand.AlgorithmOption) ?? [],
                Scores = parse.GetValue(ScoresOption) ?? [],
                ScoresFormat = ScoresInterchange.ParseFormat(parse.GetValue(ScoresFormatOption)),
                Circuit = parse.GetValue(EvaluateCommand.CircuitOption),
                Exports = ScoresInterchange.ParseExports(parse.GetValue(ExportOption)),
                Settings = new ComparisonSettings
                {
                    Evaluation = evaluation,
                    PatchTypes = ParsePatchTypes(parse.GetValue(PatchTypesOption)),
                    Metrics = ParseMetrics(parse.GetValue(MetricOption)),
                    AgreementKs = ParseKs(parse.GetValue(AgreementKOption)),
                    DiagramEdges = Positive(parse.GetValue(DiagramEdgesOption), "--diagram-edges"),
                    TopEdges = Positive(parse.GetValue(RunCommand.TopOption), "--top"),
                },
            };
            return ProgressDisplay.Run(output, error, parse.GetValue(job.NoProgress), token, env => CompareJob.Execute(request, env));
        })));
        return command;
    }

    private static IReadOnlyList<PatchType> ParsePatchTypes(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "both" => [PatchType.EdgePatch, PatchType.TreePatch],
        _ => [EvaluationNames.ParsePatchType(text)],
    };

    private static IReadOnlyList<PruneMetric> ParseMetrics(string[]? keys)
    {
        if (keys is null || keys.Length == 0)
        {
            return [PruneMetric.LogitDiffPercent];
        }

        var metrics = new List<PruneMetric>();
        foreach (var key in keys.SelectMany(k => k.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            var m = PruneMetric.All.FirstOrDefault(x => x.Key == key.ToLowerInvariant())
                    ?? throw new AutoCircuitException(
                        $"--metric {key}: unknown metric; expected one of {string.Join(", ", PruneMetric.All.Select(x => x.Key))}.");
            if (!metrics.Contains(m))
            {
                metrics.Add(m);
            }
        }

        return metrics;
    }

    private static IReadOnlyList<int>? ParseKs(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var ks = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k < 1)
            {
                throw new AutoCircuitException($"--agreement-k {text}: '{part}' is not a positive edge count.");
            }

            ks.Add(k);
        }

        return ks;
    }

    private static int Positive(int value, string option) =>
        value >= 1 ? value : throw new AutoCircuitException($"{option} {value}: expected a positive number.");
}
