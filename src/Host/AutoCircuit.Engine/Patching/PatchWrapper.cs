using AutoCircuit.Graph;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The hook installed at one graph module (auto-circuit's <c>PatchWrapperImpl</c>): one class for sources and
/// destinations, since most modules are both. It holds what belongs to the module (its mask, its source slots, its
/// einsum equations) and hands the activation to the forward pass in progress (<see cref="ForwardPass"/>), which
/// decides what to do with it; with no pass in progress (patch mode off, nothing recorded) it returns its input
/// unchanged (not even copied).
/// </summary>
internal sealed class PatchWrapper
{
    private readonly PatchableModel _owner;

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

        if (dest is null)
        {
            Einsum = EinsumSampled = EinsumGrouped = string.Empty;
            return;
        }

        if (dest.HasHeadAxis && dest.Nodes[0].HeadDim != 2)
        {
            throw new ArgumentException($"Destination module '{moduleName}' keeps heads on axis {dest.Nodes[0].HeadDim}; the engine expects [batch, seq, head, d].");
        }

        Mask = new Parameter(torch.zeros(dest.MaskShape, dtype: dtype, device: device), requires_grad: false); // [T?, H?, S]
        Mask.DetachFromDisposeScope();

        // Mask axes [seq?][head?][src] against the buffer slice [src, batch, seq, d...].
        var seq = dest.SeqLen is null ? string.Empty : "t";
        var head = dest.HasHeadAxis ? "h" : string.Empty;
        Einsum = $"{seq}{head}s,sbt...->bt{head}..."; // [T?, H?, S] x [S, B, T, d...] -> [B, T, H?, d...]
        EinsumSampled = $"b{seq}{head}s,sbt...->bt{head}..."; // [B, T?, H?, S] x [S, B, T, d...] -> [B, T, H?, d...]
        EinsumGrouped = $"k{seq}{head}s,skrt...->krt{head}..."; // [K, T?, H?, S] x [S, K, R, T, d...] -> [K, R, T, H?, d...]
    }

    public string ModuleName { get; }

    public SourceModule? Source { get; }

    public DestinationModule? Destination { get; }

    /// <summary>The destination's mask parameter <c>[T?, H?, S]</c> (null for pure sources).</summary>
    public Parameter? Mask { get; }

    /// <summary>The patch's einsum (mask, differences) → patch, for a destination.</summary>
    public string Einsum { get; }

    /// <summary>The same with one sampled mask per prompt (hard concrete).</summary>
    public string EinsumSampled { get; }

    /// <summary>The same with one mask per group of prompt rows (<see cref="MaskSettings.GroupMasks"/>), the rows split
    /// into K groups of R.</summary>
    public string EinsumGrouped { get; }

    /// <summary>
    /// Destinations that read exactly the same sources and keep heads (e.g. a layer's Q, K and V inputs), this one
    /// included; a single element when there is nothing to share (see <see cref="GroupedInferencePatch.LinkGroups"/>).
    /// </summary>
    public IReadOnlyList<PatchWrapper> Group { get; set; } = [];

    /// <summary>A destination without heads that reads this group's sources first (e.g. the layer's MLP input).</summary>
    public PatchWrapper? Extension { get; set; }

    /// <summary>The hook: the activation at this module → what the model continues with (see <see cref="ForwardPass"/>).</summary>
    public Tensor Apply(Tensor x) => _owner.CurrentPass is { } pass ? pass.Apply(this, x) : x;

    /// <summary>This destination's incoming source slots of a source-output buffer, <c>[S, B, T, d...]</c> (a view).</summary>
    public Tensor IncomingSlots(Tensor buffer) =>
        buffer.narrow(0, Destination!.InSrcStart, Destination.InSrcCount); // [n_src, B, T, d...] -> [S, B, T, d...]

    /// <summary>Writes this source module's output into its slots of <paramref name="buffer"/> (auto-circuit's
    /// <c>curr_src_outs[src_idxs] = src_out</c>).</summary>
    public void Write(Tensor buffer, Tensor output)
    {
        var src = Source!;
        if (src.HeadDim is null)
        {
            using var slot = buffer.select(0, src.SrcStart); // [B, T, d]
            slot.copy_(output);
        }
        else
        {
            using var slots = buffer.narrow(0, src.SrcStart, src.Count); // [H, B, T, d]
            using var heads = output.movedim([2L], [0L]); // [B, T, H, d] -> [H, B, T, d]
            slots.copy_(heads);
        }
    }

    /// <summary>
    /// Without gradients: <c>diff[slots] -= output</c> for this source, whose slots hold its ablations until now (the
    /// caller's ablations consumed in place, <see cref="PatchableModel.PatchModeConsuming"/>).
    /// </summary>
    public void SubtractOutput(Tensor diff, Tensor output)
    {
        using var noGrad = torch.no_grad();
        var src = Source!;
        using var diffSlots = diff.narrow(0, src.SrcStart, src.Count); // [n, B, T, d], holding the ablations
        using var outs = src.HeadDim is null
            ? output.unsqueeze(0) // [B, T, d] -> [1, B, T, d]
            : output.movedim([2L], [0L]); // [B, T, H, d] -> [H, B, T, d]
        diffSlots.sub_(outs);
    }

    /// <summary>
    /// Without gradients: <c>diff[slots] = patch[slots] - output</c> for this source (and <c>curr[slots] = output</c>
    /// when a current-output buffer exists, so that it stays up to date in every mode).
    /// </summary>
    public void WriteDifference(Tensor diff, Tensor patch, Tensor? curr, Tensor output)
    {
        using var noGrad = torch.no_grad();
        if (curr is not null)
        {
            Write(curr, output);
        }

        var src = Source!;
        using var diffSlots = diff.narrow(0, src.SrcStart, src.Count); // [n, B, T, d]
        using var patchSlots = patch.narrow(0, src.SrcStart, src.Count); // [n, B, T, d]
        using var outs = src.HeadDim is null
            ? output.unsqueeze(0) // [B, T, d] -> [1, B, T, d]
            : output.movedim([2L], [0L]); // [B, T, H, d] -> [H, B, T, d]
        diffSlots.copy_(patchSlots);
        diffSlots.sub_(outs);
    }
}
