using System.CommandLine;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tasks;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// The options of a <see cref="JobRequest"/>, declared once for <c>run</c>, <c>compare</c> and <c>evaluate</c> (and a
/// sweep): model (and <c>--download</c> for a model by name), task, dataset, graph, data, seed, device, results folder, performance and plugins. A new instance
/// declares a fresh set for one command; the command places them among its own options and <see cref="Bind"/> reads
/// them back.
/// </summary>
internal sealed class JobOptions
{
    /// <summary>Declares the options; <paramref name="plugins"/>: whether the command loads algorithms (<c>--plugins</c>).</summary>
    public JobOptions(bool plugins)
    {
        Graph.AcceptOnlyFromAmong("factorized", "residual");
        Plugins = plugins ? PluginOptions.Create() : null;
    }

    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = "Model: a built-in name (see 'list') or a checkpoint: " + ModelCatalog.CheckpointHelp + ". Default: the embedded default model.",
        HelpName = "micro|PATH|NAME",
    };

    public Option<string?> Dataset { get; } = new("--dataset", "-d")
    {
        Description = "Dataset in auto-circuit's JSON format ({\"prompts\": [{\"clean\", \"corrupt\", \"answers\", \"wrong_answers\"}]}): " +
                      "text prompts (tokenized with the model's tokenizer) or token ids. Default: the model's default task.",
        HelpName = "FILE",
    };

    public Option<string?> MibTask { get; } = new("--mib-task")
    {
        Description = "Read --dataset as rows of a MIB circuit-track dataset (JSON lines or a JSON array, as the hub's " +
                      "mib-bench datasets): ioi, mcqa, arithmetic-addition, arithmetic-subtraction, arc-easy or arc-challenge. " +
                      "Prompts and answers as MIB's data loader makes them; the rows it leaves out are left out.",
        HelpName = "TASK",
    };

    public Option<string?> Counterfactual { get; } = new("--counterfactual")
    {
        Description = "With --mib-task: the counterfactual column whose prompt is the corrupted prompt (e.g. abc_counterfactual). " +
                      "Default: MIB's (s2_io_flip_counterfactual for ioi, symbol_counterfactual for mcqa and arc, " +
                      "random_counterfactual for arithmetic).",
        HelpName = "COLUMN",
    };

    public Option<string?> Task { get; } = new("--task", "-t")
    {
        Description = "A built-in task (see 'list'): its dataset, batch and split sizes, token positions and known circuit; " +
                      "its model unless --model is given. Options given explicitly win. Without --task, --dataset and " +
                      "--model: the default task (induction) on the embedded model.",
        HelpName = "NAME",
    };

    public Option<string> Graph { get; } = new("--graph")
    {
        Description = "factorized: every source feeds every later destination (edge patching); " +
                      "residual: only the previous layer (node patching).",
        DefaultValueFactory = _ => "factorized",
    };

    public Option<bool?> TokenPositions { get; } = new("--token-positions")
    {
        Description = "One edge per token position (every prompt must have the same length); --token-positions false turns " +
                      "off a task's default.",
    };

    public Option<bool> NoPrependBos { get; } = new("--no-prepend-bos")
    {
        Description = "Do not start text prompts with the tokenizer's BOS token (auto-circuit prepends it by default).",
    };

    public Option<bool?> TailDivergence { get; } = new("--tail-divergence")
    {
        Description = "Remove the prefix every prompt shares and run it once into a key/value cache (auto-circuit's " +
                      "tail_divergence; transformers). Same outputs, shorter inputs: the graph's token positions start after it.",
    };

    public Option<int?> BatchSize { get; } = new("--batch-size")
    {
        Description = "Prompts per batch; incomplete batches are dropped. Default: the task's, else 8.",
    };

    public Option<int?> TrainSize { get; } = new("--train-size")
    {
        Description = "Prompts in the train split (used by the algorithms). Default: the task's, else half of the dataset, " +
                      "at most 128, whole batches.",
    };

    public Option<int?> TestSize { get; } = new("--test-size")
    {
        Description = "Prompts in the test split (used for evaluation). Default: as --train-size.",
    };

    public Option<bool> NoShuffle { get; } = new("--no-shuffle")
    {
        Description = "Keep the file's prompt order (by default prompts are shuffled once with --seed, as auto-circuit does).",
    };

    public Option<long> Seed { get; } = new("--seed")
    {
        Description = "Seed for the data shuffle and for the algorithms (torch.manual_seed); recorded in run.json.",
        DefaultValueFactory = _ => 42,
    };

    public Option<string> Device { get; } = new("--device")
    {
        Description = "auto (CUDA when available), cpu, cuda or cuda:N.",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string?> DType { get; } = new("--dtype")
    {
        Description = "Compute dtype of the model and the patch buffers: float32 (default), bfloat16 or float16. Checkpoints are " +
                      "converted while they load (a bfloat16 checkpoint in bfloat16 needs half the memory of float32). On the CPU " +
                      "bfloat16 runs (slower than float32 without native bf16 instructions); float16 matrix products need CUDA.",
        HelpName = "TYPE",
    };

    public Option<string?> WeightDType { get; } = new("--weight-dtype")
    {
        Description = "Keep a Hugging Face checkpoint's weight matrices in TYPE (bfloat16, float16, float32) and convert each as it is " +
                      "used; default: the --dtype. With --dtype float32 --weight-dtype bfloat16 a bfloat16 checkpoint is mapped from its " +
                      "file (no copy, half of float32's memory) and computed in float32: on CPUs without bfloat16 instructions this is " +
                      "many times faster than --dtype bfloat16, whose matrix products fall back to a reference loop. Norms and biases " +
                      "are kept in the --dtype.",
        HelpName = "TYPE",
    };

    public Option<string?> Out { get; } = new("--out", "-o")
    {
        Description = "Results folder (must not exist or be empty). Default: ./autocircuit-results/<timestamp>.",
        HelpName = "DIR",
    };

    /// <summary><c>--download</c>, for a model given by Hugging Face name.</summary>
    public HubOptions Hub { get; } = new();

    public Option<bool> NoProgress { get; } = new("--no-progress")
    {
        Description = "Progress as plain lines (counts and the time left, every 10 s to 1 min) instead of the live display; " +
                      "also when stderr is not a terminal or NO_COLOR is set.",
    };

    /// <summary><c>--threads</c>, <c>--max-patch-memory</c>, <c>--patch-buffer-dtype</c>.</summary>
    public PerformanceOptions Performance { get; } = new();

    /// <summary><c>--plugins</c>, for commands that load algorithms; else <c>null</c>.</summary>
    public Option<string[]>? Plugins { get; }

    /// <summary><c>--model</c>, <c>--download</c>, <c>--task</c>, <c>--dataset</c>, <c>--mib-task</c>, <c>--counterfactual</c>, in help order.</summary>
    public IEnumerable<Option> Subject => [Model, Hub.Download, Task, Dataset, MibTask, Counterfactual];

    /// <summary>The graph, data, seed, device, results-folder and progress options, in help order.</summary>
    public IEnumerable<Option> GraphAndData =>
        [Graph, TokenPositions, BatchSize, TrainSize, TestSize, NoShuffle, Seed, NoPrependBos, TailDivergence, Device, DType, WeightDType, Out, NoProgress];

    /// <summary>The request these options describe on <paramref name="parse"/>.</summary>
    public JobRequest Bind(ParseResult parse) => new()
    {
        Model = parse.GetValue(Model),
        Download = parse.GetValue(Hub.Download),
        Dataset = parse.GetValue(Dataset),
        Task = parse.GetValue(Task),
        Data = new DataArguments(
            parse.GetValue(BatchSize),
            parse.GetValue(TrainSize),
            parse.GetValue(TestSize),
            !parse.GetValue(NoShuffle),
            parse.GetValue(Seed),
            parse.GetValue(TokenPositions),
            parse.GetValue(NoPrependBos) ? false : null,
            parse.GetValue(TailDivergence),
            parse.GetValue(MibTask),
            parse.GetValue(Counterfactual)),
        Factorized = parse.GetValue(Graph) != "residual",
        Seed = parse.GetValue(Seed),
        Device = parse.GetValue(Device) ?? "auto",
        DType = ModelCatalog.ParseDType(parse.GetValue(DType)),
        WeightDType = ModelCatalog.ParseWeightDType(parse.GetValue(WeightDType)),
        Performance = Performance.Parse(parse),
        Plugins = Plugins is null ? Host.Plugins.PluginSearchPath.None : PluginOptions.Resolve(parse, Plugins),
        Out = parse.GetValue(Out),
        CommandLine = parse.Tokens.Select(t => t.Value).ToList(),
    };
}
