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

    public PatchScope(Tensor patchSrcOuts, Tensor? currSrcOuts, SourceBufferLedger ledger, Action onEnd)
    {
        PatchSrcOuts = patchSrcOuts;
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

    /// <summary><see cref="CurrSrcOuts"/>, allocated as zeros (auto-circuit's default) when the caller gave none.</summary>
    public Tensor EnsureCurrSrcOuts()
    {
        if (CurrSrcOuts is null)
        {
            CurrSrcOuts = torch.zeros(PatchSrcOuts.shape, dtype: PatchSrcOuts.dtype, device: PatchSrcOuts.device).DetachFromDisposeScope();
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
