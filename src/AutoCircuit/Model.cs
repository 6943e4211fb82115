using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Graph;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Hub;
using static TorchSharp.torch;

namespace AutoCircuit;

/// <summary>
/// What <see cref="Model.Load"/> loads besides the model: the same choices as the command line's <c>--task</c>,
/// <c>--dataset</c>, the data options, <c>--device</c> and <c>--dtype</c>. Unset values take the task's (or the
/// command line's) defaults.
/// </summary>
public sealed record LoadOptions
{
    /// <summary>A built-in task (<c>induction</c>, <c>micro</c>, <c>ioi</c>, ...); excludes <see cref="Dataset"/>.
    /// <c>null</c>: the model's default task.</summary>
    public string? Task { get; init; }

    /// <summary>A dataset file in auto-circuit's JSON format; excludes <see cref="Task"/>.</summary>
    public string? Dataset { get; init; }

    /// <summary>Prompts per batch (<c>--batch-size</c>).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Prompts in the train split (<c>--train-size</c>).</summary>
    public int? TrainSize { get; init; }

    /// <summary>Prompts in the test split (<c>--test-size</c>).</summary>
    public int? TestSize { get; init; }

    /// <summary>Shuffle seed of the split (<c>--data-seed</c>); 42 like auto-circuit.</summary>
    public long DataSeed { get; init; } = 42;

    /// <summary>One edge per token position (<c>--token-positions</c>).</summary>
    public bool? TokenPositions { get; init; }

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (<c>--device</c>).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Compute dtype of a transformer: <c>float32</c>, <c>bfloat16</c> or <c>float16</c> (<c>--dtype</c>).</summary>
    public string DType { get; init; } = "float32";

    /// <summary>
    /// Dtype a Hugging Face checkpoint's weight matrices are kept in, converted as they are used (<c>--weight-dtype</c>);
    /// <c>null</c>: <see cref="DType"/>. <c>DType = "float32", WeightDType = "bfloat16"</c> maps a bfloat16 checkpoint from
    /// its file and computes in float32.
    /// </summary>
    public string? WeightDType { get; init; }
}

/// <summary>
/// A model with its task's prompts, loaded the way the command line's <c>--model</c> loads it: a built-in name
/// (<c>toy-induction</c>, the default; <c>micro</c>), a Hugging Face checkpoint folder, a llama2.c <c>.bin</c>, or a Hugging
/// Face model name from the cache. Make it patchable with <see cref="Patchable"/>, then run algorithms
/// (<see cref="Algorithm.Run"/>) and evaluate circuits (<see cref="Circuits.Evaluate"/>). Dispose it at the end: it
/// owns the model, the prompts and every patchable model made from it.
/// </summary>
public sealed class Model : IDisposable
{
    private readonly PreparedTask _prepared;
    private readonly List<PatchableModel> _patchables = [];
    private bool _disposed;

    private Model(PreparedTask prepared, Prompts prompts, Device device)
    {
        _prepared = prepared;
        Prompts = prompts;
        Device = device;
    }

    /// <summary>
    /// Loads a model and its task's prompts, split and batched: what <c>dotnet autocircuit run --model
    /// <paramref name="spec"/></c> works on.
    /// </summary>
    /// <param name="spec">A built-in model name, a checkpoint path or a Hugging Face name; <c>null</c> for the default
    /// (the embedded toy induction model, or the task's model).</param>
    /// <param name="options">Task or dataset, data options, device and dtype; <c>null</c> for the defaults.</param>
    /// <exception cref="Engine.AutoCircuitException">An unknown model or task, conflicting options, an unreadable file,
    /// an unavailable device.</exception>
    public static Model Load(string? spec = null, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        var device = DeviceSelector.Resolve(options.Device);
        var data = new DataArguments(
            options.BatchSize, options.TrainSize, options.TestSize, Shuffle: true, options.DataSeed, options.TokenPositions);
        var prepared = TaskSetup.Prepare(
            spec, options.Dataset, options.Task, data, device, HubResolver.FromEnvironment(), ParseDType(options.DType),
            options.WeightDType is null ? null : ParseDType(options.WeightDType));
        TaskData? taskData = null;
        try
        {
            taskData = prepared.BuildData(device);
            PerformanceSettings.Default.ApplyThreads(prepared.Loaded.Model);
            return new Model(prepared, new Prompts(prepared, taskData), device);
        }
        catch
        {
            taskData?.Dispose();
            prepared.Dispose();
            throw;
        }
    }

    /// <summary>How the model was named (<c>toy-induction</c>, <c>micro</c>, a path).</summary>
    public string Name => _prepared.Loaded.Name;

    /// <summary>A one-line description of the network.</summary>
    public string Description => _prepared.Loaded.Model.Description;

    /// <summary>The task's key, or <c>null</c> when the prompts came from a dataset file.</summary>
    public string? Task => _prepared.Task?.Key;

    /// <summary>The device the model and the prompts are on.</summary>
    public Device Device { get; }

    /// <summary>The network itself, with its hook points (for hooks of your own).</summary>
    public IHookedModel Network => _prepared.Loaded.Model;

    /// <summary>The task's train and test prompts.</summary>
    public Prompts Prompts { get; }

    /// <summary>
    /// Wraps the network for patching: its graph of sources and destinations, masks, and activation access (what an
    /// algorithm's <c>PruneContext.Model</c> is). The same graph as the command line's: factorized with separate
    /// Q/K/V by default (<c>--graph residual</c>: <paramref name="factorized"/> false; <c>--no-separate-qkv</c>), one
    /// edge per token position when the prompts were loaded with token positions. The model keeps it and disposes it
    /// with itself; dispose it earlier to take its hooks off the network.
    /// </summary>
    /// <param name="factorized">Factorized graph (every source to every later destination); <c>false</c>: residual.</param>
    /// <param name="separateQkv">Separate Q, K and V destinations of attention heads.</param>
    public PatchableModel Patchable(bool factorized = true, bool separateQkv = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var loaded = _prepared.Loaded;
        var patchable = PatchableModel.Create(
            loaded.Model, new GraphOptions(factorized, Prompts.Data.SeqLen, separateQkv, loaded.OutputSlice),
            PerformanceSettings.Default.PatchOptions);
        _patchables.Add(patchable);
        return patchable;
    }

    /// <summary>The task's known circuit in <paramref name="graph"/>, or <c>null</c> when the task has none (or it is
    /// not stated for this kind of graph).</summary>
    public IReadOnlySet<Edge>? KnownCircuit(ModelGraph graph) => _prepared.KnownEdges(graph, out _);

    /// <summary>An HTML fragment: the model, its task, its prompts and its device (what a notebook shows).</summary>
    public string ToHtml() =>
        "<table class=\"autocircuit-model\"><tbody>" +
        $"<tr><th>model</th><td>{Html.Text(Name)}</td></tr><tr><th>network</th><td>{Html.Text(Description)}</td></tr>" +
        $"<tr><th>task</th><td>{Html.Text(Task ?? "(dataset file)")}</td></tr><tr><th>prompts</th><td>{Html.Text(Prompts.ToString())}</td></tr>" +
        $"<tr><th>device</th><td>{Html.Text(Device.ToString())}</td></tr></tbody></table>";

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Description}";

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var p in _patchables)
        {
            p.Dispose();
        }

        Prompts.Data.Dispose();
        _prepared.Dispose();
    }

    internal PreparedTask Prepared => _prepared;

    private static ScalarType ParseDType(string dtype) => dtype.Trim().ToLowerInvariant() switch
    {
        "float32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "f16" => ScalarType.Float16,
        _ => throw new Engine.AutoCircuitException($"dtype '{dtype}': expected float32, bfloat16 or float16."),
    };
}

/// <summary>A task's prompts, split and batched as auto-circuit splits them (owned by the <see cref="Model"/>).</summary>
public sealed class Prompts
{
    internal Prompts(PreparedTask prepared, TaskData data)
    {
        Data = data;
        Dataset = prepared.Document.Path;
    }

    internal TaskData Data { get; }

    /// <summary>Where the prompts came from (a task's embedded dataset or a file).</summary>
    public string Dataset { get; }

    /// <summary>The train batches: what algorithms score edges on.</summary>
    public IReadOnlyList<PromptBatch> Train => Data.Train;

    /// <summary>The test batches: what circuits are evaluated on.</summary>
    public IReadOnlyList<PromptBatch> Test => Data.Test;

    /// <summary>Prompts per batch.</summary>
    public int BatchSize => Data.BatchSize;

    /// <summary>Token positions, when the graph has one edge per position; else <c>null</c>.</summary>
    public int? SeqLen => Data.SeqLen;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Train.Count} train / {Test.Count} test batches of {BatchSize} prompts ({Dataset})";
}
