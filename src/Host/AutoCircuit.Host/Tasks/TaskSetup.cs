using AutoCircuit.Engine;
using AutoCircuit.Graph;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Models.Hub;
using AutoCircuit.Models.Transformers;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tasks;

/// <summary>The data options given on a command line; <c>null</c> takes the task's value (or the general default).</summary>
/// <param name="BatchSize">Prompts per batch (default: the task's, else 8).</param>
/// <param name="TrainSize">Train prompts.</param>
/// <param name="TestSize">Test prompts.</param>
/// <param name="Shuffle">Shuffle once with <paramref name="Seed"/>.</param>
/// <param name="Seed">Shuffle seed.</param>
/// <param name="TokenPositions">One edge per token position.</param>
/// <param name="PrependBos">Text prompts start with BOS.</param>
/// <param name="TailDivergence">Cache the shared prefix.</param>
/// <param name="MibTask"><c>--mib-task</c>: read <c>--dataset</c> as the rows of this MIB task (see <see cref="MibDataset"/>).</param>
/// <param name="Counterfactual"><c>--counterfactual</c>: the MIB counterfactual column of the corrupted prompts.</param>
public sealed record DataArguments(
    int? BatchSize = null,
    int? TrainSize = null,
    int? TestSize = null,
    bool Shuffle = true,
    long Seed = 42,
    bool? TokenPositions = null,
    bool? PrependBos = null,
    bool? TailDivergence = null,
    string? MibTask = null,
    string? Counterfactual = null);

/// <summary>
/// A model, its dataset and data options, ready to be split and batched: what <c>--model</c>,
/// <c>--dataset</c>, <c>--task</c> and the data options resolve to.
/// </summary>
public sealed class PreparedTask : IDisposable
{
    internal PreparedTask(
        LoadedModel loaded, TaskDefinition? task, DatasetDocument document, DataOptions options, IPromptEncoder encoder, MibDatasetFile? mib = null)
    {
        Mib = mib;
        Loaded = loaded;
        Task = task;
        Document = document;
        Options = options;
        Encoder = encoder;
    }

    /// <summary>The model.</summary>
    public LoadedModel Loaded { get; }

    /// <summary>The MIB dataset file the prompts came from (<c>--mib-task</c>), else <c>null</c>.</summary>
    public MibDatasetFile? Mib { get; }

    /// <summary>The task, or <c>null</c> when the data came from <c>--dataset</c>.</summary>
    public TaskDefinition? Task { get; }

    /// <summary>The dataset.</summary>
    public DatasetDocument Document { get; }

    /// <summary>The resolved data options.</summary>
    public DataOptions Options { get; }

    /// <summary>Encodes the prompts for the model.</summary>
    public IPromptEncoder Encoder { get; }

    /// <summary>
    /// The <c>"data"</c> object of <c>run.json</c>, <c>evaluate.json</c> and <c>compare.json</c>: the task, the dataset,
    /// how it was split, batched and encoded, and which prompts went where.
    /// </summary>
    internal DataInfo DataInfo(TaskData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new DataInfo
        {
            Task = Task?.Key,
            Dataset = Document.Path,
            PromptsInFile = Document.Prompts.Count,
            BatchSize = data.BatchSize,
            TrainSize = data.TrainSize,
            TestSize = data.TestSize,
            TrainBatches = data.Train.Count,
            TestBatches = data.Test.Count,
            Shuffle = Options.Shuffle,
            ShuffleSeed = Options.Seed,
            TokenPositions = Options.TokenPositions,
            PrependBos = Encoder is TextPromptEncoder text ? text.PrependBos : null,
            TailDivergence = Options.TailDivergence,
            DivergeIndex = data.DivergeIndex,
            SeqLabels = data.SeqLabels,
            TrainPrompts = data.TrainPromptIndices,
            TestPrompts = data.TestPromptIndices,
        };
    }

    /// <summary>Splits, encodes and batches the data onto <paramref name="device"/> (see <see cref="TaskData.Build"/>).</summary>
    public TaskData BuildData(Device device) =>
        TaskData.Build(Document, Options, Encoder, Loaded.Model.OutputSize, device, Loaded.Model as Transformer);

    /// <summary>
    /// The task's known circuit resolved in <paramref name="graph"/>; <c>null</c> when the task has none for this model,
    /// or when an edge of it is not in this graph (then <paramref name="warning"/> says which: circuits are stated for
    /// the factorized graph with separate Q/K/V, e.g. not for <c>--graph residual</c>).
    /// </summary>
    public IReadOnlySet<Edge>? KnownEdges(ModelGraph graph, out string? warning)
    {
        ArgumentNullException.ThrowIfNull(graph);
        warning = null;
        if (Task?.KnownCircuit?.Invoke(Loaded) is not { } circuit)
        {
            return null;
        }

        var edges = new HashSet<Edge>();
        foreach (var e in circuit)
        {
            var found = e.Seq is int s
                ? graph.FindEdge(e.Name, s) is { } one ? [one] : []
                : graph.Edges.Where(x => x.Name == e.Name).ToList();
            if (found.Count == 0)
            {
                warning = $"task {Task.Key}: its known circuit names '{e.Name}'{(e.Seq is int p ? $" at position {p}" : string.Empty)}, " +
                          "which is not an edge of this graph (the circuit is stated for the factorized graph with separate Q/K/V); " +
                          "running without it.";
                return null;
            }

            edges.UnionWith(found);
        }

        return edges.Count == 0 ? null : edges;
    }

    /// <inheritdoc />
    public void Dispose() => Loaded.Dispose();
}

/// <summary>Resolves <c>--model</c>, <c>--dataset</c>, <c>--task</c> and the data options.</summary>
public static class TaskSetup
{
    /// <summary>
    /// Loads the model and the dataset. Without <c>--task</c> and <c>--dataset</c> the model's default task is used (and
    /// without <c>--model</c> too, the default task on its model); <c>--task</c> supplies the model when it has a
    /// default, the dataset, the data options and the known circuit; options given explicitly win.
    /// </summary>
    /// <exception cref="AutoCircuitException">Conflicting or missing options, unknown task or model, a model that does not
    /// fit the task, an unreadable dataset.</exception>
    /// <param name="hub">Resolves Hugging Face model names (see <see cref="ModelCatalog.Load"/>).</param>
    /// <param name="dtype">Compute dtype of the model (<c>--dtype</c>).</param>
    /// <param name="weightDType">Storage dtype of a checkpoint's weight matrices (<c>--weight-dtype</c>; see <see cref="ModelCatalog.Load"/>).</param>
    public static PreparedTask Prepare(
        string? model, string? dataset, string? task, DataArguments data, Device device, HubResolver? hub = null,
        ScalarType dtype = ScalarType.Float32, ScalarType? weightDType = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (task is not null && dataset is not null)
        {
            throw new AutoCircuitException("--task and --dataset exclude each other: a task brings its own dataset.");
        }

        var definition = task is not null ? TaskCatalog.Find(task) : null;
        if (definition is null && model is null && dataset is null)
        {
            definition = TaskCatalog.Find(TaskCatalog.DefaultTask);
        }

        var spec = model ?? definition?.DefaultModel;
        if (spec is null && definition is not null)
        {
            throw new AutoCircuitException($"--task {definition.Key} needs --model: {definition.ModelHint}.");
        }

        var loaded = ModelCatalog.Load(spec, device, hub: hub, dtype: dtype, weightDType: weightDType);
        try
        {
            if (definition is null && dataset is null)
            {
                definition = loaded.DefaultTask is { } key
                    ? TaskCatalog.Find(key)
                    : throw new AutoCircuitException($"--model {loaded.Name} has no default task: give --task or --dataset.");
            }

            MibDatasetFile? mib = null;
            if (data.MibTask is not null || data.Counterfactual is not null)
            {
                if (dataset is null || data.MibTask is null)
                {
                    throw new AutoCircuitException(data.MibTask is null
                        ? "--counterfactual needs --mib-task and --dataset (a MIB dataset file)."
                        : "--mib-task needs --dataset: a local file of the MIB task's rows (JSON lines, as on the hub).");
                }

                var tokenizer = loaded.Tokenizer ?? throw new AutoCircuitException(
                    $"--mib-task: --model {loaded.Name} has no tokenizer to tokenize the MIB answers with (give a checkpoint with its tokenizer files).");
                mib = MibDataset.Load(dataset, MibDataset.ParseTask(data.MibTask), data.Counterfactual, tokenizer);
            }

            var document = mib?.Document ?? (dataset is not null ? DatasetDocument.Load(dataset) : definition!.Dataset(loaded));
            var options = new DataOptions(
                data.BatchSize ?? definition?.BatchSize ?? 8,
                data.TrainSize ?? definition?.TrainSize,
                data.TestSize ?? definition?.TestSize,
                data.Shuffle,
                data.Seed,
                data.TokenPositions ?? definition?.TokenPositions ?? false,
                // A vocabulary without BOS (Qwen) has none to prepend: its prompts start with their first token.
                data.PrependBos ?? (loaded.Tokenizer is { BosId: null } ? false : definition?.PrependBos ?? true),
                data.TailDivergence ?? definition?.TailDivergence ?? false);
            var encoder = Encoder(loaded, document, options);
            return new PreparedTask(loaded, definition, document, options, encoder, mib);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>Text prompts go through the model's tokenizer; numbers (vectors, token ids) as given.</summary>
    private static IPromptEncoder Encoder(LoadedModel loaded, DatasetDocument document, DataOptions options)
    {
        if (!document.Prompts[0].Clean.IsText)
        {
            return loaded.Encoder;
        }

        var tokenizer = loaded.Tokenizer ?? throw new AutoCircuitException(
            $"{document.Path}: text prompts, but --model {loaded.Name} has no tokenizer (give a checkpoint with its tokenizer files).");
        var transformer = loaded.Model as Transformer
            ?? throw new AutoCircuitException($"{document.Path}: text prompts need a transformer; --model {loaded.Name} is not one.");
        if (!options.PrependBos && transformer.Padding is { PadIsBos: true } padding)
        {
            // TransformerLens unmasks the BOS at the end of the left padding only when prompts start with BOS.
            transformer.Padding = padding with { PadIsBos = false };
        }

        return new TextPromptEncoder(tokenizer, transformer.Padding, options.PrependBos, transformer.Config);
    }
}
