using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The patching engine (auto-circuit's <c>patchable_model</c> + <c>PatchableModel</c> + <c>graph_utils</c> contexts):
/// wraps an <see cref="IHookedModel"/> by installing one <see cref="PatchWrapper"/> at each graph module's hook point.
/// </summary>
/// <remarks>
/// Split by role: this file (construction, the forward pass and its ownership), <c>.Masks</c> (masks and the scopes
/// that change how they act), <c>.Ablations</c> (source outputs and ablations), <c>.Capture</c> (activations and
/// gradients at hook points), <c>.Interventions</c> (a callback that may replace them, <c>IActivationIntervention</c>),
/// <c>.Restart</c> (forward passes from a block). How a patched pass computes its patches is
/// decided by <see cref="PatchPlanner"/> and done by one unit per mode (docs/engine.md).
/// <para>
/// Ownership: every forward pass runs in its own dispose scope and hands back only its result (and what the caller
/// asked it to record); the caller owns the result. Nothing a pass allocates outlives it except the buffers the
/// engine keeps on purpose (the patch scope's current outputs, the reusable difference buffer).
/// </para>
/// </remarks>
public sealed partial class PatchableModel : IPatchableModel, IBlockRestartable, IActivationAccess, IPatchMemoryBudget, IMaskValuesPerRow, IDisposable
{
    private readonly IHookedModel _model;
    private readonly List<PatchWrapper> _wrappers = [];
    private readonly Dictionary<string, Tensor> _masks = new(StringComparer.Ordinal);
    private readonly PatchPlanner _planner;
    private Tensor? _reusableDiff; // the inference mode's difference buffer, reused across batches while shapes match
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
        ParameterCount = model.ParameterCount();

        var srcByModule = graph.SrcModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var destByModule = graph.DestModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var destWrappers = new Dictionary<string, PatchWrapper>(StringComparer.Ordinal);
        var names = new List<string>(srcByModule.Count + destByModule.Count);
        names.AddRange(graph.SrcModules.Select(m => m.ModuleName)); // sources, then destinations that are not sources
        names.AddRange(graph.DestModules.Select(m => m.ModuleName).Where(n => !srcByModule.ContainsKey(n)));
        var (device, dtype) = (model.Device, model.DType); // each a native call
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
            var wrapper = new PatchWrapper(this, name, src, dest, device, dtype);
            hook.Hook = wrapper.Apply;
            _wrappers.Add(wrapper);
            if (dest is not null)
            {
                destWrappers[name] = wrapper;
            }
        }

        foreach (var m in graph.DestModules)
        {
            _masks[m.ModuleName] = destWrappers[m.ModuleName].Mask!;
        }

        GroupedInferencePatch.LinkGroups(graph, destWrappers);
        _planner = new PatchPlanner(_masks.Values, patchOptions);
    }

    /// <summary>The wrapped model.</summary>
    public IHookedModel Model => _model;

    /// <summary>Whether a pass may run a batch's prompts repeated (several circuits or samples in one pass): not while the
    /// model accepts only certain batch sizes (<see cref="IBatchSizeBound"/>).</summary>
    internal bool CanRepeatRows => _model is not IBatchSizeBound { BatchSizeBound: true };

    /// <summary>The options the graph was built with.</summary>
    public GraphOptions Options { get; }

    /// <summary>Memory budget and buffer type.</summary>
    public PatchOptions PatchOptions { get; }

    /// <summary>Element type of the source-output buffers.</summary>
    public ScalarType BufferDType { get; }

    /// <summary>Bytes of source-output buffers the engine holds (counted while <see cref="SourceBufferLedger.Enabled"/>).</summary>
    internal SourceBufferLedger Ledger { get; } = new();

    /// <inheritdoc />
    public ModelGraph Graph { get; }

    /// <summary>The wrapped model's parameters (sizes each pass's intra-op threads, <see cref="PassThreads.Set"/>).</summary>
    internal long ParameterCount { get; }

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

    /// <summary>What the mask-gradient probes' backward passes leave to the engine to dispose.</summary>
    internal BackwardLeftovers ProbeLeftovers { get; } = new();

    /// <summary>The forward pass in progress, whose hooks the wrappers run; <c>null</c> between passes.</summary>
    internal ForwardPass? CurrentPass { get; private set; }

    /// <summary>How the last forward pass in patch mode computed its patches (for tests).</summary>
    internal PatchForwardMode LastForwardMode { get; set; }

    /// <summary>Forward passes run in patch mode since the model was made (for tests).</summary>
    internal long PatchedPassCount { get; set; }

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
    /// <remarks>Runs in its own dispose scope; the caller owns the result.</remarks>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return RunForward(input, () => _model.Forward(input));
    }

    /// <inheritdoc />
    public Tensor Run(Tensor input)
    {
        var output = Forward(input);
        var sliced = SliceOutput(output);
        if (!ReferenceEquals(sliced, output))
        {
            output.Dispose(); // the slice is a view: it keeps the storage
        }

        return sliced;
    }

    /// <inheritdoc />
    public Tensor SliceOutput(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        return OutputSlice switch
        {
            OutputSlice.All => output,
            OutputSlice.LastSeq => output.select(1, -1), // [B, T, V] -> [B, V]
            OutputSlice.NotFirstSeq => output.narrow(1, 1, output.size(1) - 1), // [B, T, V] -> [B, T-1, V]
            _ => throw new InvalidOperationException($"Unknown output slice {OutputSlice}."),
        };
    }

    /// <summary>
    /// One forward pass of the wrapped model: in its own dispose scope, with <paramref name="observer"/> as the hooks'
    /// pass (recording, capture) or, in patch mode, the pass the planner starts; returns only the output (and what
    /// the pass keeps for its caller), moved to the caller's scope.
    /// </summary>
    /// <param name="input">The pass's input (its first two axes are prompt rows and token positions): sets the pass's
    /// intra-op threads by its size (<see cref="PassThreads.Set"/>).</param>
    /// <param name="forward">The model's forward pass.</param>
    /// <param name="observer">The hooks' pass, or <c>null</c> for the planner's patch pass.</param>
    /// <param name="fullPass">Every hook point runs (not a pass restarted at a block).</param>
    private Tensor RunForward(Tensor input, Func<Tensor> forward, ForwardPass? observer = null, bool fullPass = true)
    {
        if (CurrentPass is not null)
        {
            throw new InvalidOperationException("A forward pass of this model is already running.");
        }

        ProbeLeftovers.DisposeAll(); // the previous pass's backward pass is over
        var tokens = input.dim() switch { 0 => 1, 1 => input.size(0), _ => input.size(0) * input.size(1) };
        PassThreads.Set(tokens, ParameterCount, Graph.SrcModules.Count + Graph.DestModules.Count);

        using var scope = torch.NewDisposeScope();
        using var patchPass = observer is null ? BeginPatchForward(fullPass) : null;
        var pass = observer ?? patchPass;
        CurrentPass = pass;
        try
        {
            var output = forward();
            pass?.KeepResults();
            return output.MoveToOuterDisposeScope();
        }
        finally
        {
            CurrentPass = null;
        }
    }

    /// <summary>Frees the buffers the engine keeps for reuse between batches (they are allocated again when needed).</summary>
    public void ReleaseBuffers()
    {
        if (_patch is not null)
        {
            throw new InvalidOperationException("Buffers are released with patch mode off.");
        }

        _reusableDiff?.Dispose();
        _reusableDiff = null;
    }

    /// <summary>The reusable difference buffer for <paramref name="patch"/>'s shape (allocated outside inference mode so it can be updated anywhere).</summary>
    internal Tensor ReusableDiffBuffer(Tensor patch)
    {
        if (_reusableDiff is { } d && TensorSizes.SameSizes(d, patch) && d.device_type == patch.device_type
            && d.device_index == patch.device_index && d.dtype == BufferDType)
        {
            return d;
        }

        _reusableDiff?.Dispose();
        using var normal = torch.inference_mode(false);
        _reusableDiff = torch.empty(patch.Sizes(), dtype: BufferDType, device: patch.device).DetachFromDisposeScope(); // [S, B, T, d]
        Ledger.Track(_reusableDiff);
        return _reusableDiff;
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

        _reusableDiff?.Dispose();
        _reusableDiff = null;
        ProbeLeftovers.DisposeAll();
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
