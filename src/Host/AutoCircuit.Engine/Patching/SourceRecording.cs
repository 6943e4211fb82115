using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// A forward pass with patch mode off that records every source's output into one new buffer <c>[n_src, B, T, d]</c>
/// (auto-circuit's <c>src_ablations</c> forward hooks, stacked by source index).
/// </summary>
internal sealed class SourceRecording(PatchableModel owner) : ForwardPass
{
    /// <summary>The recorded outputs, once the first source has run; the caller's after <see cref="KeepResults"/>.</summary>
    public Tensor? Buffer { get; private set; }

    /// <inheritdoc />
    public override Tensor Apply(PatchWrapper wrapper, Tensor x)
    {
        if (wrapper.Source is not { } source)
        {
            return x;
        }

        if (Buffer is null)
        {
            // Every source output has the shape of a non-head source: [B, T, d...].
            var sizes = x.Sizes();
            var perSlot = source.HeadDim is null ? sizes : sizes.Where((_, i) => i != 2).ToArray();
            Buffer = torch.zeros([owner.Graph.Srcs.Count, .. perSlot], dtype: owner.BufferDType, device: x.device); // [S, B, T, d...]
            owner.Ledger.Track(Buffer);
        }

        wrapper.Write(Buffer, x);
        return x;
    }

    /// <inheritdoc />
    public override void KeepResults() => Buffer?.MoveToOuterDisposeScope();
}
