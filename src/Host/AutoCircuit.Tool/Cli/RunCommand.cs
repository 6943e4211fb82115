using System.CommandLine;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Tool.Cli;

/// <summary><c>dotnet autocircuit run</c>.</summary>
public static class RunCommand
{
    internal static readonly Option<string?> ModelOption = new("--model", "-m")
    {
        Description = "Model: a built-in name (see 'list') or a checkpoint: " + ModelCatalog.CheckpointHelp + ". Default: the embedded default model.",
        HelpName = "micro|PATH|NAME",
    };

    internal static readonly Option<string?> DatasetOption = new("--dataset", "-d")
    {
        Description = "Dataset in auto-circuit's JSON format ({\"prompts\": [{\"clean\", \"corrupt\", \"answers\", \"wrong_answers\"}]}): " +
                      "text prompts (tokenized with the model's tokenizer) or token ids. Default: the model's default task.",
        HelpName = "FILE",
    };

    internal static readonly Option<string?> TaskOption = new("--task", "-t")
    {
        Description = "A built-in task (see 'list'): its dataset, batch and split sizes, token positions and known circuit; " +
                      "its model unless --model is given. Options given explicitly win. Without --task, --dataset and " +
                      "--model: the default task (induction) on the embedded model.",
        HelpName = "NAME",
    };

    internal static readonly Option<string[]> AlgorithmOption = new("--algorithm", "-a")
    {
        Description = "Algorithm to run; repeatable. SPEC is a key (see 'list'), key:name=value,name=value " +
                      "(list values separated by ';'), or a preset name. Default: activation-magnitude, mask-gradient (EAP), " +
                      "acdc, subnetwork-probing, random, and ground-truth when the task has a known circuit.",
        HelpName = "SPEC",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    internal static readonly Option<string> GraphOption = new("--graph")
    {
        Description = "factorized: every source feeds every later destination (edge patching); " +
                      "residual: only the previous layer (node patching).",
        DefaultValueFactory = _ => "factorized",
    };

    internal static readonly Option<bool?> TokenPositionsOption = new("--token-positions")
    {
        Description = "One edge per token position (every prompt must have the same length); --token-positions false turns " +
                      "off a task's default.",
    };

    internal static readonly Option<bool> NoPrependBosOption = new("--no-prepend-bos")
    {
        Description = "Do not start text prompts with the tokenizer's BOS token (auto-circuit prepends it by default).",
    };

    internal static readonly Option<bool?> TailDivergenceOption = new("--tail-divergence")
    {
        Description = "Remove the prefix every prompt shares and run it once into a key/value cache (auto-circuit's " +
                      "tail_divergence; transformers). Same outputs, shorter inputs: the graph's token positions start after it.",
    };

    internal static readonly Option<int?> BatchSizeOption = new("--batch-size")
    {
        Description = "Prompts per batch; incomplete batches are dropped. Default: the task's, else 8.",
    };

    internal static readonly Option<int?> TrainSizeOption = new("--train-size")
    {
        Description = "Prompts in the train split (used by the algorithms). Default: the task's, else half of the dataset, " +
                      "at most 128, whole batches.",
    };

    internal static readonly Option<int?> TestSizeOption = new("--test-size")
    {
        Description = "Prompts in the test split (used for evaluation). Default: as --train-size.",
    };

    internal static readonly Option<bool> NoShuffleOption = new("--no-shuffle")
    {
        Description = "Keep the file's prompt order (by default prompts are shuffled once with --seed, as auto-circuit does).",
    };

    internal static readonly Option<long> SeedOption = new("--seed")
    {
        Description = "Seed for the data shuffle and for the algorithms (torch.manual_seed); recorded in run.json.",
        DefaultValueFactory = _ => 42,
    };

    internal static readonly Option<string> DeviceOption = new("--device")
    {
        Description = "auto (CUDA when available), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
    };

    internal static readonly Option<string?> OutOption = new("--out", "-o")
    {
        Description = "Results folder (must not exist or be empty). Default: ./autocircuit-results/<timestamp>.",
        HelpName = "DIR",
    };

    internal static readonly Option<string[]> PluginsOption = PluginOptions.Create();

    internal static readonly Option<string> ExportOption = new("--export")
    {
        Description = "Interchange files per algorithm, comma-separated: autocircuit (exports/<key>/prune-scores.json), csv " +
                      "(edges.csv), mib (mib/importances.json), mib-circuits (MIB's nine binary circuits), all, none.",
        DefaultValueFactory = _ => "none",
    };

    internal static readonly Option<int> TopOption = new("--top")
    {
        Description = "How many top edges per algorithm to print on stdout.",
        DefaultValueFactory = _ => 10,
    };

    /// <summary>The data options given on a command line (unset ones come from the task).</summary>
    internal static DataArguments Data(ParseResult parse) => new(
        parse.GetValue(BatchSizeOption),
        parse.GetValue(TrainSizeOption),
        parse.GetValue(TestSizeOption),
        !parse.GetValue(NoShuffleOption),
        parse.GetValue(SeedOption),
        parse.GetValue(TokenPositionsOption),
        parse.GetValue(NoPrependBosOption) ? false : null,
        parse.GetValue(TailDivergenceOption));

    /// <summary>Creates the command.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        GraphOption.AcceptOnlyFromAmong("factorized", "residual");
        var command = new Command(
            "run",
            "Score every edge of a model's graph with one or more algorithms on a task's train split, then evaluate each " +
            "algorithm's circuits on the test split (see --edges). Writes DIR/run.json, DIR/scores/<key>.json|.safetensors, " +
            "DIR/circuits/<key>.json|.csv and DIR/report.html (the folder appears only when the run completes) and prints the " +
            "top edges on stdout; progress and logs go to stderr.\n\n" + CommandLine.ExitCodesHelp)
        {
            ModelOption, HubOptions.DownloadOption, TaskOption, DatasetOption, AlgorithmOption, GraphOption, TokenPositionsOption, BatchSizeOption,
            TrainSizeOption, TestSizeOption, NoShuffleOption, SeedOption, NoPrependBosOption, TailDivergenceOption,
            DeviceOption, OutOption, TopOption,
            EvaluateCommand.EdgesOption, EvaluateCommand.PatchTypeOption, EvaluateCommand.AblationOption,
            EvaluateCommand.ReverseOption, ExportOption,
            PluginsOption,
            PerformanceOptions.ThreadsOption, PerformanceOptions.MaxPatchMemoryOption, PerformanceOptions.BufferDTypeOption,
        };
        command.SetAction((parse, token) => Task.FromResult(CommandLine.Guard(error, () =>
        {
            var seed = parse.GetValue(SeedOption);
            var request = new RunRequest
            {
                Model = parse.GetValue(ModelOption),
                Download = parse.GetValue(HubOptions.DownloadOption),
                Dataset = parse.GetValue(DatasetOption),
                Task = parse.GetValue(TaskOption),
                Algorithms = parse.GetValue(AlgorithmOption) ?? [],
                Plugins = PluginOptions.Resolve(parse, PluginsOption),
                Factorized = parse.GetValue(GraphOption) != "residual",
                Data = Data(parse),
                Seed = seed,
                Device = parse.GetValue(DeviceOption) ?? "auto",
                Performance = PerformanceOptions.Parse(parse),
                Out = parse.GetValue(OutOption),
                TopEdges = parse.GetValue(TopOption),
                Exports = ScoresInterchange.ParseExports(parse.GetValue(ExportOption)),
                Evaluation = EvaluateCommand.Settings(parse),
                CommandLine = parse.Tokens.Select(t => t.Value).ToList(),
            };
            return ProgressDisplay.Run(error, token, env => RunJob.Execute(request, env with { Out = output }));
        })));
        return command;
    }
}
