using AutoCircuit.Graph;
using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Patching;

/// <summary>
/// The hook installed at one graph module (auto-circuit's <c>PatchWrapperImpl</c>): one class for
/// sources and destinations, since most modules are both. A destination adds
/// <c>einsum(mask, patch_src_outs[in] - curr_src_outs[in])</c> to the activation in patch mode; a
/// source then writes the activation into its slots of the shared source-output buffer. With patch
/// mode off and no recording it returns its input unchanged (not even copied).
/// </summary>
internal sealed class PatchWrapper
{
    private readonly PatchableModel _owner;
    private readonly string _einsum;
    private readonly string _einsumSampled;

    public PatchWrapper(PatchableModel owner, string moduleName, SourceModule? src, DestinationModule? dest, Device device, ScalarType dtype)
    {
        _owner = owner;
        ModuleName = moduleName;
        Source = src;
        Destination = dest;
        if (src is { HeadDim: int hd } && hd != 2)
        {
            throw new ArgumentException($"Source module '{moduleName}' keeps heads on axis {hd}; the engine expects [batch, seq, head, d].");
        }

        if (dest is not null)
        {
            if (dest.HasHeadAxis && dest.Nodes[0].HeadDim != 2)
            {
                throw new ArgumentException($"Destination module '{moduleName}' keeps heads on axis {dest.Nodes[0].HeadDim}; the engine expects [batch, seq, head, d].");
            }

            Mask = new Parameter(torch.zeros(dest.MaskShape, dtype: dtype, device: device), requires_grad: false);
            Mask.DetachFromDisposeScope();

            // Mask axes [seq?][head?][src] against the buffer slice [src, batch, seq, d...].
            var seq = dest.SeqLen is null ? string.Empty : "t";
            var head = dest.HasHeadAxis ? "h" : string.Empty;
            _einsum = $"{seq}{head}s,sbt...->bt{head}...";
            _einsumSampled = $"b{seq}{head}s,sbt...->bt{head}...";
        }
        else
        {
            _einsum = _einsumSampled = string.Empty;
        }
    }

    public string ModuleName { get; }

    public SourceModule? Source { get; }

    public DestinationModule? Destination { get; }

    /// <summary>The destination's mask parameter (null for pure sources).</summary>
    public Parameter? Mask { get; }

    public Tensor Apply(Tensor x)
    {
        var state = _owner.State;
        if (state.PatchSrcOuts is not null && Destination is not null)
        {
            x = x + Delta(x, state);
        }

        if (state.Capture is { } capture)
        {
            x = capture(ModuleName, x);
        }

        if (Source is not null && state.CurrSrcOuts is not null)
        {
            Write(state.CurrSrcOuts, x);
        }
        else if (Source is not null && state.Recording)
        {
            _owner.Record(this, x);
        }

        return x;
    }

    /// <summary>The patch added to this destination's input: <c>[batch, seq, head?, d]</c>.</summary>
    private Tensor Delta(Tensor x, PatchState state)
    {
        var dest = Destination!;
        using var patch = state.PatchSrcOuts!.narrow(0, dest.InSrcStart, dest.InSrcCount);
        using var curr = state.CurrSrcOuts!.narrow(0, dest.InSrcStart, dest.InSrcCount);
        using var diff = patch - curr; // [S, B, T, d...]
        Tensor weights;
        var sampled = false;
        switch (state.MaskFunction)
        {
            case MaskFunction.HardConcrete:
                weights = HardConcrete.Sample(Mask!, x.shape[0]); // [B, seq?, head?, S]
                sampled = true;
                break;
            case MaskFunction.Sigmoid:
                weights = torch.sigmoid(Mask!);
                break;
            default:
                weights = Mask!.alias();
                break;
        }

        using (weights)
        {
            if (state.Dropout > 0 && state.Training)
            {
                using var dropped = torch.nn.functional.dropout(weights, state.Dropout, training: true);
                return torch.einsum(sampled ? _einsumSampled : _einsum, dropped, diff);
            }

            return torch.einsum(sampled ? _einsumSampled : _einsum, weights, diff);
        }
    }

    /// <summary>Writes this source module's output into its slots of <paramref name="buffer"/>.</summary>
    public void Write(Tensor buffer, Tensor output)
    {
        var src = Source!;
        if (src.HeadDim is null)
        {
            using var slot = buffer.select(0, src.SrcStart);
            slot.copy_(output);
        }
        else
        {
            using var slots = buffer.narrow(0, src.SrcStart, src.Count);
            using var heads = output.movedim([2L], [0L]); // [H, B, T, d]
            slots.copy_(heads);
        }
    }
}
