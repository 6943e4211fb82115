using AutoCircuit.Graph;
using AutoCircuit.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The one place that decides how a forward pass in patch mode computes its patches, and starts it:
/// <list type="table">
/// <listheader><term>condition (first that holds)</term><description>mode</description></listheader>
/// <item><term><see cref="PatchOptions.ReferencePatching"/></term><description><see cref="ReferencePatch"/>, einsum as in
/// auto-circuit</description></item>
/// <item><term>mask values per row (<see cref="PatchableModel.MaskValuesPerRow"/>)</term><description><see cref="ReferencePatch"/>
/// (its einsum with one mask per prompt row)</description></item>
/// <item><term>no gradient (inference mode or <c>no_grad</c>)</term><description><see cref="GroupedInferencePatch"/> (with
/// masks per row group, <see cref="PatchableModel.MasksPerRowGroup"/>, each destination's grouped einsum)</description></item>
/// <item><term>masks per row group</term><description><see cref="ReferencePatch"/> (its grouped einsum)</description></item>
/// <item><term>masks trained (<see cref="PatchableModel.TrainMaskMode"/>, every mask requiring grad), no mask function,
/// no dropout, ablations and current outputs without grad, and every mask element 0</term>
/// <description><see cref="ZeroMaskGradientPatch"/></description></item>
/// <item><term>otherwise</term><description><see cref="ReferencePatch"/> (matrix product where the einsum is
/// one)</description></item>
/// </list>
/// At most one host read per pass: "is every mask 0", and only when every other condition of the zero-mask row holds.
/// </summary>
internal sealed class PatchPlanner(IReadOnlyCollection<Tensor> masks, PatchOptions options)
{
    /// <summary>The mode of the pass about to run in <paramref name="scope"/>.</summary>
    public PatchForwardMode Choose(PatchScope scope, MaskSettings settings)
    {
        if (options.ReferencePatching || settings.RowValues is not null)
        {
            return PatchForwardMode.Autograd;
        }

        if (!torch.is_grad_enabled())
        {
            return PatchForwardMode.Inference;
        }

        if (settings.GroupMasks is not null)
        {
            return PatchForwardMode.Autograd;
        }

        return ZeroMaskGradientApplies(settings, scope.PatchSrcOuts, scope.CurrSrcOuts)
            ? PatchForwardMode.ZeroMaskGradient
            : PatchForwardMode.Autograd;
    }

    /// <summary>Chooses the mode and starts the pass (the caller disposes it when the model returns).</summary>
    /// <param name="owner">The engine.</param>
    /// <param name="scope">The patch scope.</param>
    /// <param name="settings">Mask settings of the pass.</param>
    /// <param name="active">Per destination module: whether its mask may be non-zero; <c>null</c>: all may be.</param>
    /// <param name="fullPass">Every source of the graph runs in this pass (not a pass restarted at a block).</param>
    public PatchForward Begin(PatchableModel owner, PatchScope scope, MaskSettings settings, bool[]? active, bool fullPass) =>
        Choose(scope, settings) switch
        {
            PatchForwardMode.Inference => GroupedInferencePatch.Begin(owner, scope, settings, active, fullPass),
            PatchForwardMode.ZeroMaskGradient => ZeroMaskGradientPatch.Begin(owner, scope, settings),
            _ => ReferencePatch.Begin(owner, scope, settings),
        };

    /// <summary>
    /// How many <c>[n_src, B, T, d]</c> buffers the coming pass holds at once, as a multiple of one (for the memory
    /// budget, before the patch scope exists): the patch activations and one difference buffer in the inference and
    /// zero-mask modes; otherwise also the current outputs and the differences autograd keeps per destination (the
    /// sum of every destination's incoming sources, in source slots).
    /// </summary>
    public double BuffersPerPass(ModelGraph graph, MaskSettings settings)
    {
        var fast = !options.ReferencePatching && settings.RowValues is null
            && (!torch.is_grad_enabled() || ZeroMaskGradientApplies(settings, patch: null, curr: null));
        if (fast)
        {
            return 2;
        }

        var saved = graph.DestModules.Sum(m => (double)m.InSrcCount) / Math.Max(1, graph.Srcs.Count);
        return 2 + saved;
    }

    /// <summary>
    /// Edge attribution patching's case: masks trained without a mask function or dropout, every mask 0, and no
    /// gradient wanted for the ablations or current outputs (one host read of "any mask non-zero", last).
    /// </summary>
    private bool ZeroMaskGradientApplies(MaskSettings settings, Tensor? patch, Tensor? curr)
    {
        if (!settings.Training || settings.Function != MaskFunction.None || settings.Dropout > 0
            || patch?.requires_grad == true || curr?.requires_grad == true || masks.Any(m => !m.requires_grad))
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
        var flat = torch.cat(masks.Select(m => m.detach().reshape(-1)).ToArray(), 0); // [sum of mask sizes]
        return !flat.any().item<bool>();
    }
}
