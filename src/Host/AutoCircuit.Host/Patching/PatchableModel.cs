using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Host.Models;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Patching;

/// <summary>How to build a patchable model's graph (auto-circuit's <c>patchable_model</c> arguments).</summary>
/// <param name="Factorized">Factorized graph (edge patching) or residual graph (node patching).</param>
/// <param name="SeqLen">Token positions for per-position edges, or <c>null</c>.</param>
/// <param name="SeparateQkv">Separate Q/K/V destinations (transformers, factorized graph).</param>
/// <param name="OutputSlice">Which part of the output the task is measured on.</param>
public sealed record GraphOptions(
    bool Factorized = true,
    int? SeqLen = null,
    bool SeparateQkv = true,
    OutputSlice OutputSlice = OutputSlice.LastSeq);

/// <summary>
/// The patching engine (auto-circuit's <c>patchable_model</c> + <c>PatchableModel</c> +
/// <c>graph_utils</c> contexts): wraps an <see cref="IHookedModel"/> by installing one
/// <see cref="PatchWrapper"/> at each graph module's hook point.
/// </summary>
public sealed class PatchableModel : IPatchableModel, IBlockRestartable, IActivationAccess, IDisposable
{
    private readonly IHookedModel _model;
    private readonly List<PatchWrapper> _wrappers = [];
    private readonly Dictionary<string, PatchWrapper> _destWrappers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _masks = new(StringComparer.Ordinal);
    private Tensor? _recordBuffer;
    private bool _disposed;

    private PatchableModel(IHookedModel model, ModelGraph graph, GraphOptions options)
    {
        _model = model;
        Graph = graph;
        OutputSlice = options.OutputSlice;
        Options = options;
        model.FreezeParameters();

        var srcByModule = graph.SrcModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var destByModule = graph.DestModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var names = graph.SrcModules.Select(m => m.ModuleName).Concat(graph.DestModules.Select(m => m.ModuleName))
            .Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!model.HookPoints.TryGetValue(name, out var hook))
            {
                throw new ArgumentException($"The graph names module '{name}' but the model has no hook point of that name.");
            }

            if (hook.Hook is not null)
            {
                throw new InvalidOperationException($"Hook point '{name}' already has a hook: the model is already patchable.");
            }

            srcByModule.TryGetValue(name, out var src);
            destByModule.TryGetValue(name, out var dest);
            var wrapper = new PatchWrapper(this, name, src, dest, model.Device, model.DType);
            hook.Hook = wrapper.Apply;
            _wrappers.Add(wrapper);
            if (dest is not null)
            {
                _destWrappers[name] = wrapper;
            }
        }

        foreach (var m in graph.DestModules)
        {
            _masks[m.ModuleName] = _destWrappers[m.ModuleName].Mask!;
        }
    }

    /// <summary>The wrapped model.</summary>
    public IHookedModel Model => _model;

    /// <summary>The options the graph was built with.</summary>
    public GraphOptions Options { get; }

    /// <inheritdoc />
    public ModelGraph Graph { get; }

    /// <inheritdoc />
    public Device Device => _model.Device;

    /// <inheritdoc />
    public ScalarType DType => _model.DType;

    /// <inheritdoc />
    public OutputSlice OutputSlice { get; }

    /// <inheritdoc />
    public bool IsTransformer => _model.IsTransformer;

    /// <inheritdoc />
    public int LayerCount => _model.LayerCount;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> Masks => _masks;

    internal PatchState State { get; } = new();

    /// <summary>
    /// Builds the graph for <paramref name="model"/> and installs the wrappers. The model is modified
    /// (hooks installed, parameters frozen); dispose the patchable model to remove the hooks.
    /// </summary>
    public static PatchableModel Create(IHookedModel model, GraphOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var nodes = options.Factorized ? model.FactorizedNodes(options.SeparateQkv) : model.ResidualNodes();
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, options.Factorized, options.SeqLen);
        return new PatchableModel(model, graph, options);
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor input) => _model.Forward(input);

    /// <inheritdoc />
    public Tensor Run(Tensor input)
    {
        var output = Forward(input);
        return SliceOutput(output);
    }

    /// <inheritdoc />
    public Tensor SliceOutput(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return OutputSlice switch
        {
            OutputSlice.All => output,
            OutputSlice.LastSeq => output.select(1, -1),
            OutputSlice.NotFirstSeq => output.narrow(1, 1, output.shape[1] - 1),
            _ => throw new InvalidOperationException($"Unknown output slice {OutputSlice}."),
        };
    }

    /// <inheritdoc />
    public void SetAllMasks(double value)
    {
        using var _ = torch.no_grad();
        foreach (var m in _masks.Values)
        {
            m.fill_(value);
        }
    }

    /// <inheritdoc />
    public void SetMasks(IEnumerable<Edge> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        using var values = NewPruneScores();
        using (torch.no_grad())
        {
            foreach (var e in edges)
            {
                values.Set(e, 1.0);
            }
        }

        SetMasks(values);
    }

    /// <inheritdoc />
    public void SetMasks(PruneScores values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var _ = torch.no_grad();
        foreach (var m in Graph.DestModules)
        {
            var v = values[m.ModuleName];
            PruneScores.CheckShape(m, v);
            _masks[m.ModuleName].copy_(v);
        }
    }

    /// <inheritdoc />
    public void ZeroMaskGrads()
    {
        foreach (var m in _masks.Values)
        {
            if (m.grad is { } g)
            {
                using var _ = torch.no_grad();
                g.zero_();
            }
        }
    }

    /// <inheritdoc />
    public IDisposable PatchMode(Tensor patchSrcOuts, Tensor? currSrcOuts = null)
    {
        ArgumentNullException.ThrowIfNull(patchSrcOuts);
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Patch mode is already on; nested patch scopes are not supported.");
        }

        if (patchSrcOuts.shape[0] != Graph.Srcs.Count)
        {
            throw new ArgumentException(
                $"Patch activations must have one slot per source node ({Graph.Srcs.Count}); got [{string.Join(", ", patchSrcOuts.shape)}].");
        }

        var ownsCurr = currSrcOuts is null;
        State.PatchSrcOuts = patchSrcOuts;
        State.CurrSrcOuts = currSrcOuts ?? torch.zeros_like(patchSrcOuts).DetachFromDisposeScope();
        return new Scope(() =>
        {
            if (ownsCurr)
            {
                State.CurrSrcOuts?.Dispose();
            }

            State.PatchSrcOuts = null;
            State.CurrSrcOuts = null;
        });
    }

    /// <inheritdoc />
    public IDisposable TrainMaskMode(bool requiresGrad = true)
    {
        foreach (var m in _masks.Values)
        {
            m.grad?.Dispose();
            m.grad = null;
            m.requires_grad = requiresGrad;
        }

        State.Training = true;
        return new Scope(() =>
        {
            State.Training = false;
            foreach (var m in _masks.Values)
            {
                m.requires_grad = false;
            }
        });
    }

    /// <inheritdoc />
    public IDisposable MaskFunctionMode(MaskFunction function, double dropout = 0.0)
    {
        if (dropout is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "Mask dropout must be in [0, 1).");
        }

        State.MaskFunction = function;
        State.Dropout = dropout;
        return new Scope(() =>
        {
            State.MaskFunction = MaskFunction.None;
            State.Dropout = 0;
        });
    }

    /// <summary>
    /// The unpatched output of every source for one batch: <c>[n_src, batch, seq, d]</c>.
    /// </summary>
    /// <remarks>
    /// Runs under <c>no_grad</c> rather than inference mode: the result is used as patch activations
    /// inside gradient computations, where inference tensors would need a copy first.
    /// </remarks>
    public Tensor SourceOutputs(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Source outputs are recorded with patch mode off.");
        }

        using var _ = torch.no_grad();
        State.Recording = true;
        try
        {
            using var scope = torch.NewDisposeScope();
            using var output = Forward(input);
            if (_recordBuffer is null)
            {
                throw new InvalidOperationException("The forward pass did not reach any source node.");
            }

            return _recordBuffer.MoveToOuterDisposeScope();
        }
        finally
        {
            State.Recording = false;
            _recordBuffer = null;
        }
    }

    /// <inheritdoc />
    public Tensor SourceAblations(Tensor input, AblationType type = AblationType.Resample)
    {
        if (type.IsMeanOverDataset())
        {
            throw new ArgumentException($"Ablation '{type.ToCliName()}' is a dataset mean: pass the batches, not one input.", nameof(type));
        }

        var outs = SourceOutputs(input); // [S, B, T, d]
        using var _ = torch.no_grad();
        switch (type)
        {
            case AblationType.Resample:
                return outs;
            case AblationType.Zero:
                using (outs)
                {
                    return torch.zeros_like(outs);
                }

            case AblationType.BatchTokenwiseMean:
                using (outs)
                {
                    using var mean = outs.mean([1L], keepdim: true);
                    return mean.expand(outs.shape).contiguous();
                }

            case AblationType.BatchAllTokMean:
                using (outs)
                {
                    using var mean = outs.mean([1L, 2L], keepdim: true);
                    return mean.expand(outs.shape).contiguous();
                }

            default:
                outs.Dispose();
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <inheritdoc />
    public Tensor SourceAblations(IReadOnlyList<PromptBatch> batches, AblationType type)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (!type.IsMeanOverDataset())
        {
            throw new ArgumentException($"Ablation '{type.ToCliName()}' is computed per batch.", nameof(type));
        }

        if (batches.Count == 0)
        {
            throw new ArgumentException("Dataset-mean ablations need at least one batch.", nameof(batches));
        }

        using var _ = torch.no_grad();
        Tensor? sum = null;
        long batchSize = 0;
        foreach (var batch in batches)
        {
            foreach (var clean in new[] { true, false })
            {
                if ((clean && !type.UsesCleanDataset()) || (!clean && !type.UsesCorruptDataset()))
                {
                    continue;
                }

                using var outs = SourceOutputs(batch.Input(clean));
                using var mean = outs.mean([1L], keepdim: true); // [S, 1, T, d]
                batchSize = outs.shape[1];
                if (sum is null)
                {
                    sum = mean.clone().DetachFromDisposeScope();
                }
                else
                {
                    sum.add_(mean);
                }
            }
        }

        // Batches have equal sizes, so the mean of batch means is the dataset mean.
        var mult = (type.UsesCleanDataset() ? 1 : 0) + (type.UsesCorruptDataset() ? 1 : 0);
        if (sum is null)
        {
            throw new InvalidOperationException("No batch was run.");
        }

        using (sum)
        {
            using var avg = sum / (batches.Count * mult);
            var shape = avg.shape.ToArray();
            shape[1] = batchSize;
            return avg.expand(shape).contiguous();
        }
    }

    /// <inheritdoc />
    public PruneScores NewPruneScores(double value = 0) => PruneScores.Filled(Graph, value, Device, DType);

    /// <inheritdoc />
    public bool CanRestartAtBlock => _model is IBlockRestartModel;

    /// <inheritdoc />
    public int BlockOf(DestinationModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Restartable.BlockOf(module.ModuleName);
    }

    /// <inheritdoc />
    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Block inputs are captured with patch mode off.");
        }

        using var _ = torch.no_grad();
        return Restartable.CaptureBlockInputs(input);
    }

    /// <inheritdoc />
    public Tensor ForwardFromBlock(BlockInputs inputs, int block) => Restartable.ForwardFromBlock(inputs, block);

    /// <inheritdoc />
    public Dictionary<string, Tensor> CaptureActivations(Tensor input, IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(input);
        var names = CaptureNames(moduleNames);
        var captured = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = torch.no_grad();
        State.Capture = (name, x) =>
        {
            if (names.Contains(name))
            {
                captured[name] = x.detach().clone().DetachFromDisposeScope();
            }

            return x;
        };
        try
        {
            using var scope = torch.NewDisposeScope();
            Forward(input);
        }
        finally
        {
            State.Capture = null;
        }

        return CheckReached(names, captured);
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> CaptureGradients(
        Tensor input, IEnumerable<string> moduleNames, Func<Tensor, Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(loss);
        var names = CaptureNames(moduleNames);

        // Each captured activation is made a tensor we hold (a fresh leaf where nothing upstream
        // requires grad, else a clone on the graph) and handed on downstream, so the gradient of the
        // loss with respect to it is the total derivative through everything after the hook point.
        var leaves = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = torch.enable_grad();
        State.Capture = (name, x) =>
        {
            if (!names.Contains(name))
            {
                return x;
            }

            // A new autograd node (clone), not alias(): TorchSharp's alias() shares the tensor and its
            // autograd identity, so the gradient would include every other use of x (e.g. the residual
            // stream around an MLP), not just the path through this hook point.
            var held = (x.requires_grad ? x.clone() : x.detach().requires_grad_(true)).DetachFromDisposeScope();
            leaves[name] = held;

            // Hand the model its own handle: models may dispose what a hook point returns.
            return held.alias();
        };
        try
        {
            Tensor[] grads;
            using (var scope = torch.NewDisposeScope())
            {
                var output = Forward(input);
                State.Capture = null;
                CheckReached(names, leaves);
                var value = loss(output);
                if (value.numel() != 1)
                {
                    throw new ArgumentException(
                        $"The loss must be a scalar; got shape [{string.Join(", ", value.shape)}].", nameof(loss));
                }

                var order = leaves.Keys.ToList();
                grads = [.. torch.autograd.grad([value], order.Select(n => leaves[n]).ToList())];
                var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                for (var i = 0; i < order.Count; i++)
                {
                    result[order[i]] = grads[i].detach().DetachFromDisposeScope();
                }

                return result;
            }
        }
        finally
        {
            State.Capture = null;
            foreach (var t in leaves.Values)
            {
                t.Dispose();
            }
        }
    }

    private HashSet<string> CaptureNames(IEnumerable<string> moduleNames)
    {
        ArgumentNullException.ThrowIfNull(moduleNames);
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Activations and gradients are captured with patch mode off.");
        }

        var names = new HashSet<string>(moduleNames, StringComparer.Ordinal);
        foreach (var n in names)
        {
            if (_wrappers.All(w => w.ModuleName != n))
            {
                throw new ArgumentException(
                    $"'{n}' is not a module of this graph; known: " +
                    $"{string.Join(", ", _wrappers.Select(w => w.ModuleName))}.",
                    nameof(moduleNames));
            }
        }

        return names;
    }

    private static Dictionary<string, Tensor> CheckReached(HashSet<string> names, Dictionary<string, Tensor> captured)
    {
        var missing = names.Where(n => !captured.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            foreach (var t in captured.Values)
            {
                t.Dispose();
            }

            throw new InvalidOperationException(
                $"The forward pass did not reach module(s) {string.Join(", ", missing)}.");
        }

        return captured;
    }

    private IBlockRestartModel Restartable => _model as IBlockRestartModel
        ?? throw new NotSupportedException($"{_model.Description} cannot restart its forward pass at a block; run the full forward instead.");

    /// <summary>Called by source wrappers while recording: allocates the buffer on first use and writes.</summary>
    internal void Record(PatchWrapper wrapper, Tensor output)
    {
        var source = wrapper.Source!;
        if (_recordBuffer is null)
        {
            // Every source output has the shape of a non-head source: [B, T, d...].
            var perSlot = source.HeadDim is null ? output.shape : output.shape.Where((_, i) => i != 2).ToArray();
            _recordBuffer = torch.zeros([Graph.Srcs.Count, .. perSlot], dtype: output.dtype, device: output.device);
        }

        wrapper.Write(_recordBuffer, output);
    }

    /// <summary>Removes the hooks from the model.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var w in _wrappers)
        {
            _model.HookPoints[w.ModuleName].Hook = null;
            w.Mask?.Dispose();
        }
    }

    private sealed class Scope(Action onDispose) : IDisposable
    {
        private Action? _onDispose = onDispose;

        public void Dispose()
        {
            _onDispose?.Invoke();
            _onDispose = null;
        }
    }
}
