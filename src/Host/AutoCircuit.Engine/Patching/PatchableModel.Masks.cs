using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Masks, and the scopes that change how they act: patch mode, mask training, mask functions.</summary>
public sealed partial class PatchableModel
{
    private PatchScope? _patch;
    private MaskSettings _maskSettings = new(MaskFunction.None, 0, Training: false);
    private bool[]? _activeDestinations;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> Masks => _masks;

    /// <summary>The open patch scope and the buffers its passes share (for tests); <c>null</c> with patch mode off.</summary>
    internal PatchScope? ActivePatchScope => _patch;

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
            using var g = m.grad; // a new handle on the gradient, ours to dispose
            if (g is not null)
            {
                using var _ = torch.no_grad();
                using var zeroed = g.zero_(); // TorchSharp's zero_ returns another new handle
            }
        }
    }

    /// <inheritdoc />
    public PruneScores NewPruneScores(double value = 0) => PruneScores.Filled(Graph, value, Device, DType);

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="currSrcOuts"/> is read when a forward pass first needs it (its values then, e.g. the clean
    /// outputs of the sources before a restart block) and written by every source during each forward pass.
    /// </remarks>
    public IDisposable PatchMode(Tensor patchSrcOuts, Tensor? currSrcOuts = null) => OpenPatchScope(patchSrcOuts, currSrcOuts, consumable: false);

    /// <inheritdoc />
    /// <remarks>
    /// The inference and zero-mask-gradient passes write <c>ablation - output</c> into the caller's tensor as each source
    /// runs, instead of into a second buffer, when it is contiguous, of <see cref="BufferDType"/> and without gradient
    /// (otherwise the pass copies it as <see cref="PatchMode"/> does). A second pass in the same scope is refused
    /// (<see cref="InvalidOperationException"/>): the ablations are gone.
    /// </remarks>
    public IDisposable PatchModeConsuming(Tensor patchSrcOuts) => OpenPatchScope(patchSrcOuts, null, consumable: true);

    private PatchScope OpenPatchScope(Tensor patchSrcOuts, Tensor? currSrcOuts, bool consumable)
    {
        ArgumentNullException.ThrowIfNull(patchSrcOuts);
        if (_patch is not null)
        {
            throw new InvalidOperationException("Patch mode is already on; nested patch scopes are not supported.");
        }

        if (patchSrcOuts.size(0) != Graph.Srcs.Count)
        {
            throw new ArgumentException(
                $"Patch activations must have one slot per source node ({Graph.Srcs.Count}); got [{string.Join(", ", patchSrcOuts.shape)}].");
        }

        if (currSrcOuts is not null && !TensorSizes.SameSizes(currSrcOuts, patchSrcOuts))
        {
            throw new ArgumentException(
                $"Current outputs [{string.Join(", ", currSrcOuts.shape)}] must have the shape of the patch activations [{string.Join(", ", patchSrcOuts.shape)}].");
        }

        _patch = new PatchScope(patchSrcOuts, currSrcOuts, Ledger, onEnd: () =>
        {
            _patch = null;
            _activeDestinations = null;
            ProbeLeftovers.DisposeAll();
        }, consumable);
        return _patch;
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

        _activeDestinations = active;
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

        _maskSettings = _maskSettings with { Training = true };
        return new Scope(() =>
        {
            _maskSettings = _maskSettings with { Training = false };
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

        if (_maskSettings.RowValues is not null && (function != MaskFunction.None || dropout > 0))
        {
            throw new InvalidOperationException("Mask values per row add to the masks themselves: no mask function or mask dropout while they are set.");
        }

        if (_maskSettings.GroupMasks is not null && (function != MaskFunction.None || dropout > 0))
        {
            throw new InvalidOperationException("Masks per row group are used as they are: no mask function or mask dropout while they are set.");
        }

        _maskSettings = _maskSettings with { Function = function, Dropout = dropout };
        return new Scope(() => _maskSettings = _maskSettings with { Function = MaskFunction.None, Dropout = 0 });
    }

    /// <inheritdoc />
    /// <remarks>The values are read when each pass starts; the caller keeps them alive until the scope ends.</remarks>
    public IDisposable MaskValuesPerRow(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.dim() != 1)
        {
            throw new ArgumentException($"Mask values per row must be one value per prompt row, [batch]; got [{string.Join(", ", values.shape)}].", nameof(values));
        }

        if (_maskSettings.RowValues is not null)
        {
            throw new InvalidOperationException("Mask values per row are already set; nested scopes are not supported.");
        }

        if (_maskSettings.GroupMasks is not null)
        {
            throw new InvalidOperationException("Masks per row group are set; mask values per row do not combine with them.");
        }

        if (_maskSettings.Function != MaskFunction.None || _maskSettings.Dropout > 0)
        {
            throw new InvalidOperationException("Mask values per row add to the masks themselves: not with a mask function or mask dropout.");
        }

        _maskSettings = _maskSettings with { RowValues = values };
        return new Scope(() => _maskSettings = _maskSettings with { RowValues = null });
    }

    /// <summary>
    /// Until the scope ends, each patched pass splits its prompt rows into K equal groups (the first R rows, the next R,
    /// ...) and patches group k with the masks <paramref name="groupMasks"/>[m][k] instead of the model's masks: K
    /// circuits evaluated in one pass over the prompts repeated K times, as K passes would evaluate them (fewer, larger
    /// operations where a pass costs its count of operations).
    /// </summary>
    /// <param name="groupMasks">For every destination module, its masks for each group, <c>[K, T?, H?, S]</c>, the same
    /// K for all; read when each pass starts, kept alive by the caller until the scope ends.</param>
    /// <returns>A scope that restores the model's masks.</returns>
    /// <exception cref="ArgumentException">A destination without masks, a shape that is not <c>[K, mask shape]</c>, or
    /// different K.</exception>
    /// <exception cref="InvalidOperationException">Already set, or with a mask function, mask dropout or mask values per
    /// row.</exception>
    internal IDisposable MasksPerRowGroup(IReadOnlyDictionary<string, Tensor> groupMasks)
    {
        ArgumentNullException.ThrowIfNull(groupMasks);
        if (_maskSettings.GroupMasks is not null)
        {
            throw new InvalidOperationException("Masks per row group are already set; nested scopes are not supported.");
        }

        if (_maskSettings.RowValues is not null || _maskSettings.Function != MaskFunction.None || _maskSettings.Dropout > 0)
        {
            throw new InvalidOperationException("Masks per row group are used as they are: not with a mask function, mask dropout or mask values per row.");
        }

        long? groups = null;
        foreach (var m in Graph.DestModules)
        {
            if (!groupMasks.TryGetValue(m.ModuleName, out var masks))
            {
                throw new ArgumentException($"Masks per row group: none for destination '{m.ModuleName}'.", nameof(groupMasks));
            }

            if (masks.dim() != m.MaskShape.Length + 1 || !masks.Sizes().Skip(1).SequenceEqual(m.MaskShape))
            {
                throw new ArgumentException(
                    $"Masks per row group for '{m.ModuleName}' must be [groups, {string.Join(", ", m.MaskShape)}]; got [{string.Join(", ", masks.shape)}].",
                    nameof(groupMasks));
            }

            if (groups is long k && masks.size(0) != k)
            {
                throw new ArgumentException(
                    $"Masks per row group: '{m.ModuleName}' has {masks.size(0)} groups, other destinations {k}.", nameof(groupMasks));
            }

            groups = masks.size(0);
        }

        _maskSettings = _maskSettings with { GroupMasks = groupMasks };
        return new Scope(() => _maskSettings = _maskSettings with { GroupMasks = null });
    }

    /// <inheritdoc />
    public long PatchBytesPerRow(PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var buffers = _planner.BuffersPerPass(Graph, _maskSettings);
        return (long)Math.Ceiling(buffers * Graph.Srcs.Count) * batch.Clean.size(1) * _model.ResidualWidth * DTypes.Bytes(BufferDType);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Counts the <c>[n_src, rows, seq, d]</c> buffers the coming pass holds at once (<see cref="PatchPlanner.BuffersPerPass"/>;
    /// when masks are trained, one host read to check whether they are all zero).
    /// </remarks>
    public int? MaxPatchRows(PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (PatchOptions.MaxPatchMemoryBytes is not long budget)
        {
            return null;
        }

        return (int)Math.Clamp(budget / Math.Max(1, PatchBytesPerRow(batch)), 1, int.MaxValue);
    }

    /// <summary>Starts the patch unit the planner chooses for the pass about to run; <c>null</c> with patch mode off.</summary>
    private PatchForward? BeginPatchForward(bool fullPass)
    {
        if (_patch is null)
        {
            return null;
        }

        var pass = _planner.Begin(this, _patch, _maskSettings, _activeDestinations, fullPass);
        LastForwardMode = pass.Mode;
        PatchedPassCount++;
        return pass;
    }
}
