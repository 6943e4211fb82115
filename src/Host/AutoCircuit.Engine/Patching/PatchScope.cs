using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// One <see cref="PatchableModel.PatchMode"/> scope (auto-circuit's <c>patch_mode</c> context): the ablations the
/// destinations read and the buffers its forward passes share, which outlive one pass so that a pass restarted at a
/// block (<see cref="PatchableModel.ForwardFromBlock"/>) reads the outputs of the sources it does not rerun.
/// </summary>
internal sealed class PatchScope : IDisposable
{
    private readonly SourceBufferLedger _ledger;
    private readonly Action _onEnd;
    private bool _ownsCurr;
    private bool _ended;

    public PatchScope(Tensor patchSrcOuts, Tensor? currSrcOuts, SourceBufferLedger ledger, Action onEnd, bool consumable = false)
    {
        PatchSrcOuts = patchSrcOuts;
        Consumable = consumable;
        CurrSrcOuts = currSrcOuts;
        _ledger = ledger;
        _onEnd = onEnd;
    }

    /// <summary>The ablations <c>[n_src, B, T, d]</c> (the caller's).</summary>
    public Tensor PatchSrcOuts { get; }

    /// <summary>
    /// The current output of every source <c>[n_src, B, T, d]</c>: the caller's (read when a pass first needs it,
    /// e.g. the clean outputs of the sources before a restart block), or allocated by the first
    /// <see cref="PatchForwardMode.Autograd"/> pass; written by every source of every pass once it exists.
    /// </summary>
    public Tensor? CurrSrcOuts { get; private set; }

    /// <summary>
    /// <c>patch - curr</c> per source slot for <see cref="GroupedInferencePatch"/> (the engine's reusable buffer), valid
    /// while <see cref="DiffValid"/>.
    /// </summary>
    public Tensor? InferenceDiff { get; set; }

    /// <summary>Whether <see cref="InferenceDiff"/> holds <c>patch - curr</c> for every slot (true after an inference
    /// pass; any other pass writes only <see cref="CurrSrcOuts"/>).</summary>
    public bool DiffValid { get; set; }

    /// <summary>Whether the caller handed the ablations over for one pass (<see cref="PatchableModel.PatchModeConsuming"/>).</summary>
    public bool Consumable { get; }

    /// <summary>Whether a pass has turned <see cref="PatchSrcOuts"/> into its difference buffer (no later pass may read it).</summary>
    public bool Consumed { get; private set; }

    /// <summary>
    /// <see cref="PatchSrcOuts"/> itself as the difference buffer of the pass starting now, when the caller allowed it and
    /// it can be: no current outputs (each slot then holds <c>patch</c> until its source runs), contiguous, of the
    /// buffer type and without gradient; else <c>null</c>. Throws when an earlier pass of the scope consumed it.
    /// </summary>
    public Tensor? TakeAblationsAsDiff(ScalarType bufferType)
    {
        if (Consumed)
        {
            throw new InvalidOperationException(
                "This patch scope's ablations were handed over for one forward pass (PatchModeConsuming) and have been used; " +
                "open a new scope with fresh ablations, or use PatchMode to run several passes.");
        }

        var p = PatchSrcOuts;
        if (!Consumable || CurrSrcOuts is not null || p.dtype != bufferType || p.requires_grad || !p.is_contiguous())
        {
            return null;
        }

        Consumed = true;
        return p.alias(); // a handle of the pass's own on the caller's storage
    }

    /// <summary><see cref="CurrSrcOuts"/>, allocated as zeros (auto-circuit's default) when the caller gave none.</summary>
    public Tensor EnsureCurrSrcOuts()
    {
        if (CurrSrcOuts is null)
        {
            CurrSrcOuts = torch.zeros(PatchSrcOuts.Sizes(), dtype: PatchSrcOuts.dtype, device: PatchSrcOuts.device).DetachFromDisposeScope();
            _ledger.Track(CurrSrcOuts);
            _ownsCurr = true;
        }

        return CurrSrcOuts;
    }

    /// <summary>Ends patch mode.</summary>
    public void Dispose()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        if (_ownsCurr)
        {
            CurrSrcOuts?.Dispose();
        }

        CurrSrcOuts = null;
        InferenceDiff = null; // the engine's to reuse, not this scope's
        _ledger.PatchEnded();
        _onEnd();
    }
}
