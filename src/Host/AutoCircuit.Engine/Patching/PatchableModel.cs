using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

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

/// <summary>Engine settings that do not change the graph or the results.</summary>
/// <param name="MaxPatchMemoryBytes">Budget for the source-output buffers of one batch (patch activations, differences,
/// current outputs); batches whose buffers would not fit are processed in chunks of prompts (see
/// <see cref="PatchableModel.MaxPatchRows"/>). <c>null</c>: no budget.</param>
/// <param name="BufferDType">Element type of the source-output buffers (recorded activations, ablations, differences):
/// <c>null</c> for the model's dtype; <c>BFloat16</c>/<c>Float16</c> halve their memory on CUDA (CPU keeps float32).</param>
/// <param name="ReferencePatching">Compute every patch as auto-circuit does, op for op (subtract, einsum, autograd through
/// the buffers), instead of the faster equivalent paths (see <c>PatchForwardMode</c>); the tests compare the two.</param>
public sealed record PatchOptions(long? MaxPatchMemoryBytes = null, ScalarType? BufferDType = null, bool ReferencePatching = false);

/// <summary>
/// The patching engine (auto-circuit's <c>patchable_model</c> + <c>PatchableModel</c> +
/// <c>graph_utils</c> contexts): wraps an <see cref="IHookedModel"/> by installing one
/// <see cref="PatchWrapper"/> at each graph module's hook point.
/// </summary>
public sealed partial class PatchableModel : IPatchableModel, IBlockRestartable, IActivationAccess, IPatchMemoryBudget, IDisposable
{
    private readonly IHookedModel _model;
    private readonly List<PatchWrapper> _wrappers = [];
    private readonly Dictionary<string, PatchWrapper> _destWrappers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _masks = new(StringComparer.Ordinal);
    private Tensor? _recordBuffer;
    private Tensor? _inferenceDiff; // reused across batches while shapes match
    private bool _ownsCurr;
    private bool _disposed;

    private PatchableModel(IHookedModel model, ModelGraph graph, GraphOptions options, PatchOptions patchOptions)
    {
        _model = model;
        Graph = graph;
        OutputSlice = options.OutputSlice;
        Options = options;
        PatchOptions = patchOptions;
        BufferDType = patchOptions.BufferDType ?? model.DType;
        if (BufferDType != model.DType && model.Device.type != DeviceType.CUDA)
        {
            throw new AutoCircuitException(
                $"Source buffers in {BufferDType} need a CUDA device; on {model.Device.type} they stay {model.DType}.");
        }

        if (!DTypes.IsFloat(BufferDType))
        {
            throw new AutoCircuitException($"Source buffers must have a floating-point type; got {BufferDType}.");
        }

        if (patchOptions.MaxPatchMemoryBytes is <= 0)
        {
            throw new AutoCircuitException($"The patch memory budget must be positive; got {patchOptions.MaxPatchMemoryBytes} bytes.");
        }

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

        // Destinations that read the same sources and keep heads (a layer's Q, K, V inputs) share one einsum.
        foreach (var group in graph.DestModules
                     .Where(m => m.HasHeadAxis)
                     .GroupBy(m => (m.InSrcStart, m.InSrcCount, m.SeqLen)))
        {
            var members = group.Select(m => _destWrappers[m.ModuleName]).ToList();
            foreach (var w in members)
            {
                w.Group = members;
            }
        }

        foreach (var w in _destWrappers.Values.Where(w => w.Group.Count == 0))
        {
            w.Group = [w];
        }

        // A group's extension: the destination without heads that reads the group's sources and then some, the fewest
        // (a layer's MLP input after its Q/K/V inputs). Its patch over the group's sources joins the group's product.
        foreach (var leader in _destWrappers.Values.Where(w => w.Group.Count > 1 && ReferenceEquals(w.Group[0], w)))
        {
            var d = leader.Destination!;
            var extension = graph.DestModules
                .Where(m => !m.HasHeadAxis && m.InSrcStart == d.InSrcStart && m.SeqLen == d.SeqLen && m.InSrcCount > d.InSrcCount)
                .OrderBy(m => m.InSrcCount)
                .FirstOrDefault();
            if (extension is not null)
            {
                foreach (var w in leader.Group)
                {
                    w.Extension = _destWrappers[extension.ModuleName];
                }
            }
        }
    }

    /// <summary>The wrapped model.</summary>
    public IHookedModel Model => _model;

    /// <summary>The options the graph was built with.</summary>
    public GraphOptions Options { get; }

    /// <summary>Memory budget and buffer type.</summary>
    public PatchOptions PatchOptions { get; }

    /// <summary>Element type of the source-output buffers.</summary>
    public ScalarType BufferDType { get; }

    /// <summary>Bytes of source-output buffers the engine holds (counted while <see cref="SourceBufferLedger.Enabled"/>).</summary>
    public SourceBufferLedger Ledger { get; } = new();

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

    /// <summary>How the last forward pass in patch mode computed its patches (for tests).</summary>
    internal PatchForwardMode LastForwardMode => State.Mode;

    /// <summary>
    /// Builds the graph for <paramref name="model"/> and installs the wrappers. The model is modified
    /// (hooks installed, parameters frozen); dispose the patchable model to remove the hooks.
    /// </summary>
    public static PatchableModel Create(IHookedModel model, GraphOptions options, PatchOptions? patchOptions = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var nodes = options.Factorized ? model.FactorizedNodes(options.SeparateQkv) : model.ResidualNodes();
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, options.Factorized, options.SeqLen);
        return new PatchableModel(model, graph, options, patchOptions ?? new PatchOptions());
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor input)
    {
        BeginForward();
        return _model.Forward(input);
    }

    /// <summary>
    /// Marks destination modules whose masks are known to be all zero (by <see cref="DestinationModule.Index"/>), so that
    /// forward passes without gradients skip them (their patch is exactly zero); <c>null</c> (the default, and after
    /// every patch scope): any mask may be non-zero. The caller must keep the claim true: the engine does not check it.
    /// </summary>
    public void SetActiveDestinations(bool[]? active)
    {
        if (active is not null && active.Length != Graph.DestModules.Count)
        {
            throw new ArgumentException($"Expected one flag per destination module ({Graph.DestModules.Count}); got {active.Length}.", nameof(active));
        }

        State.Active = active;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Counts the <c>[n_src, rows, seq, d]</c> buffers the coming pass holds at once: the patch activations and the
    /// difference buffer without gradients or for the mask gradients at mask 0 (one host read to check the masks);
    /// otherwise the patch activations, the current outputs and the per-destination differences autograd keeps for
    /// the backward pass (the sum of every destination's incoming sources, in source slots).
    /// </remarks>
    public int? MaxPatchRows(PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (PatchOptions.MaxPatchMemoryBytes is not long budget)
        {
            return null;
        }

        var buffers = BuffersPerPatchedPass();
        var perRow = (long)Math.Ceiling(buffers * Graph.Srcs.Count) * batch.Clean.shape[1] * _model.ResidualWidth * DTypes.Bytes(BufferDType);
        return (int)Math.Clamp(budget / Math.Max(1, perRow), 1, int.MaxValue);
    }

    /// <summary>How many <c>[n_src, ...]</c> buffers a patched pass holds at once, as a multiple of one (see <see cref="MaxPatchRows"/>).</summary>
    internal double BuffersPerPatchedPass()
    {
        var fast = !PatchOptions.ReferencePatching
            && (!torch.is_grad_enabled() || (State.Training && State.MaskFunction == MaskFunction.None && !(State.Dropout > 0) && AllMasksZero()));
        if (fast)
        {
            return 2;
        }

        var saved = Graph.DestModules.Sum(m => (double)m.InSrcCount) / Math.Max(1, Graph.Srcs.Count);
        return 2 + saved;
    }

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
    /// <remarks>
    /// <paramref name="currSrcOuts"/> is read when a forward pass first needs it (its values then, e.g. the clean
    /// outputs of the sources before a restart block) and written by every source during each forward pass.
    /// </remarks>
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

        if (currSrcOuts is not null && !currSrcOuts.shape.SequenceEqual(patchSrcOuts.shape))
        {
            throw new ArgumentException(
                $"Current outputs [{string.Join(", ", currSrcOuts.shape)}] must have the shape of the patch activations [{string.Join(", ", patchSrcOuts.shape)}].");
        }

        State.PatchSrcOuts = patchSrcOuts;
        State.CurrSrcOuts = currSrcOuts;
        State.DiffValid = false;
        _ownsCurr = false;
        return new Scope(() =>
        {
            if (_ownsCurr)
            {
                State.CurrSrcOuts?.Dispose();
            }

            _ownsCurr = false;
            State.PatchSrcOuts = null;
            State.CurrSrcOuts = null;
            State.DiffSrcOuts = null;
            State.DiffValid = false;
            State.Active = null;
            State.PendingDeltas.Clear();
            ClearPartials();
            Ledger.PatchEnded();
        });
    }

    /// <summary>
    /// Chooses how the forward pass about to run computes its patches (<see cref="PatchForwardMode"/>) and prepares
    /// the buffers it reads. At most one host read: whether every mask is zero, when masks are being trained.
    /// </summary>
    private void BeginForward()
    {
        var patch = State.PatchSrcOuts;
        if (patch is null)
        {
            return;
        }

        State.PendingDeltas.Clear();
        ClearPartials();
        var curr = State.CurrSrcOuts;
        if (!torch.is_grad_enabled() && !PatchOptions.ReferencePatching)
        {
            State.Mode = PatchForwardMode.Inference;
            if (!State.DiffValid || State.DiffSrcOuts is null)
            {
                State.DiffSrcOuts = InferenceDiffBuffer(patch);
                using var normal = torch.inference_mode(false);
                using var noGrad = torch.no_grad();
                State.DiffSrcOuts.copy_(patch);
                if (curr is not null)
                {
                    State.DiffSrcOuts.sub_(curr);
                }

                State.DiffValid = true;
            }

            return;
        }

        State.DiffValid = false;
        if (!PatchOptions.ReferencePatching && ZeroMaskGradientApplies(patch, curr))
        {
            State.Mode = PatchForwardMode.ZeroMaskGradient;
            using var noGrad = torch.no_grad();
            var diff = torch.empty(patch.shape, dtype: BufferDType, device: patch.device);
            diff.copy_(patch);
            if (curr is not null)
            {
                diff.sub_(curr);
            }

            Ledger.TrackUntilPatchEnd(diff); // the probes hold slices of it until the backward pass
            State.DiffSrcOuts = diff;
            return;
        }

        State.Mode = PatchForwardMode.Autograd;
        if (curr is null)
        {
            State.CurrSrcOuts = torch.zeros(patch.shape, dtype: patch.dtype, device: patch.device).DetachFromDisposeScope();
            Ledger.Track(State.CurrSrcOuts);
            _ownsCurr = true;
        }
    }

    private void ClearPartials()
    {
        foreach (var (t, _) in State.PendingPartials.Values)
        {
            t.Dispose();
        }

        State.PendingPartials.Clear();
    }

    /// <summary>
    /// Edge attribution patching's case: masks trained without a mask function or dropout, every mask 0, and no
    /// gradient wanted for the activations (one host read of "any mask non-zero").
    /// </summary>
    private bool ZeroMaskGradientApplies(Tensor patch, Tensor? curr)
    {
        if (!State.Training || State.MaskFunction != MaskFunction.None || State.Dropout > 0 || State.Capture is not null
            || patch.requires_grad || curr?.requires_grad == true || _masks.Values.Any(m => !m.requires_grad))
        {
            return false;
        }

        return AllMasksZero();
    }

    /// <summary>Whether every mask element is 0 (one host read).</summary>
    private bool AllMasksZero()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var flat = torch.cat(_masks.Values.Select(m => m.detach().reshape(-1)).ToArray(), 0);
        return !flat.any().item<bool>();
    }

    /// <summary>The reusable difference buffer for <paramref name="patch"/>'s shape (allocated outside inference mode so it can be updated anywhere).</summary>
    private Tensor InferenceDiffBuffer(Tensor patch)
    {
        if (_inferenceDiff is { } d && d.shape.SequenceEqual(patch.shape) && d.device == patch.device && d.dtype == BufferDType)
        {
            return d;
        }

        _inferenceDiff?.Dispose();
        using var normal = torch.inference_mode(false);
        _inferenceDiff = torch.empty(patch.shape, dtype: BufferDType, device: patch.device).DetachFromDisposeScope();
        Ledger.Track(_inferenceDiff);
        return _inferenceDiff;
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
                    return Tracked(torch.zeros_like(outs));
                }

            case AblationType.BatchTokenwiseMean:
                using (outs)
                {
                    using var mean = outs.mean([1L], keepdim: true);
                    return Tracked(mean.expand(outs.shape).contiguous());
                }

            case AblationType.BatchAllTokMean:
                using (outs)
                {
                    using var mean = outs.mean([1L, 2L], keepdim: true);
                    return Tracked(mean.expand(outs.shape).contiguous());
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
            if (PatchOptions.MaxPatchMemoryBytes is not null)
            {
                // Under a memory budget the mean is not copied for every prompt: one [n_src, 1, seq, d] tensor, viewed.
                var view = avg.expand(shape);
                Ledger.Track(view, avg.numel() * DTypes.Bytes(avg.dtype));
                return view;
            }

            return Tracked(avg.expand(shape).contiguous());
        }
    }

    private Tensor Tracked(Tensor t)
    {
        Ledger.Track(t);
        return t;
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
    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        var restartable = Restartable;
        BeginForward();
        return restartable.ForwardFromBlock(inputs, block);
    }

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
            _recordBuffer = torch.zeros([Graph.Srcs.Count, .. perSlot], dtype: BufferDType, device: output.device);
            Ledger.Track(_recordBuffer);
        }

        wrapper.Write(_recordBuffer, output);
    }

    /// <summary>Frees the buffers the engine keeps for reuse between batches (they are allocated again when needed).</summary>
    public void ReleaseBuffers()
    {
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Buffers are released with patch mode off.");
        }

        _inferenceDiff?.Dispose();
        _inferenceDiff = null;
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

        _inferenceDiff?.Dispose();
        _inferenceDiff = null;
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
