using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Scores;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// A model whose graph edges can be patched (auto-circuit's <c>PatchableModel</c>). Every source
/// node writes its output into one shared buffer <c>[n_src, batch, seq, d]</c>; every destination
/// module has a mask <c>[seq?][head?][n_in_src]</c> and, in patch mode, adds
/// <c>mask * (patch_src_outs - curr_src_outs)</c> of its incoming sources to its input.
/// With patch mode off the model computes exactly the unpatched model.
/// </summary>
/// <remarks>
/// The host owns the model; algorithms use it inside one run and must leave the state as they
/// found it, which the scope-returning members (<see cref="PatchMode"/>, <see cref="TrainMaskMode"/>,
/// <see cref="MaskFunctionMode"/>) guarantee when used with <c>using</c>. Model parameters never
/// require grad; only masks do, inside <see cref="TrainMaskMode"/>.
/// </remarks>
public interface IPatchableModel
{
    /// <summary>The computational graph: nodes, modules, edges.</summary>
    ModelGraph Graph { get; }

    /// <summary>The device the model, masks and buffers live on.</summary>
    Device Device { get; }

    /// <summary>The floating-point type of activations and masks.</summary>
    ScalarType DType { get; }

    /// <summary>Which part of the output the task is measured on.</summary>
    OutputSlice OutputSlice { get; }

    /// <summary>Whether the model is a transformer over token ids (else vector inputs, e.g. the micro model).</summary>
    bool IsTransformer { get; }

    /// <summary>Number of transformer blocks (the micro model's blocks for the micro model).</summary>
    int LayerCount { get; }

    /// <summary>
    /// Runs the model on a batch of inputs and returns the whole output (e.g. logits
    /// <c>[batch, seq, vocab]</c>). Patches the graph when a <see cref="PatchMode"/> scope is open.
    /// </summary>
    /// <remarks>
    /// The pass runs in a dispose scope of its own and hands back only its result, which the caller owns (it joins
    /// the caller's dispose scope when one is open): a caller without a scope that disposes the result leaves nothing
    /// alive.
    /// </remarks>
    Tensor Forward(Tensor input);

    /// <summary><see cref="Forward"/> followed by the task's output slice (auto-circuit's <c>model(x)[model.out_slice]</c>).</summary>
    Tensor Run(Tensor input);

    /// <summary>Applies the task's output slice to a full output.</summary>
    Tensor SliceOutput(Tensor output);

    /// <summary>The mask parameter of every destination module, in graph order. Shared, not copies.</summary>
    IReadOnlyDictionary<string, Tensor> Masks { get; }

    /// <summary>Sets every mask element to <paramref name="value"/>.</summary>
    void SetAllMasks(double value);

    /// <summary>Sets the masks to 1 for the given edges and 0 elsewhere.</summary>
    void SetMasks(IEnumerable<Edge> edges);

    /// <summary>Copies mask values from per-module tensors of the masks' shapes.</summary>
    void SetMasks(PruneScores values);

    /// <summary>Clears the masks' accumulated gradients.</summary>
    void ZeroMaskGrads();

    /// <summary>
    /// Turns patching on until disposed. Destinations read ablations from <paramref name="patchSrcOuts"/>
    /// (<c>[n_src, batch, seq, d]</c>); sources write their outputs into <paramref name="currSrcOuts"/>
    /// (a fresh zero buffer when <c>null</c>; to start a forward pass at a middle layer, pass the clean
    /// source outputs, or run one full pass in the scope first, as ACDC does).
    /// </summary>
    IDisposable PatchMode(Tensor patchSrcOuts, Tensor? currSrcOuts = null);

    /// <summary>
    /// <see cref="PatchMode"/> for ablations the caller hands over for <b>one</b> forward pass (and its backward pass):
    /// the caller will not read <paramref name="patchSrcOuts"/> or patch with it again, so the engine may turn it into its
    /// difference buffer in place (<c>ablation - output</c>, slot by slot as the sources run) and hold one
    /// <c>[n_src, batch, seq, d]</c> buffer instead of two. After the scope its contents are unspecified. An engine
    /// that cannot use the permission treats this as <see cref="PatchMode"/> (the default).
    /// </summary>
    IDisposable PatchModeConsuming(Tensor patchSrcOuts) => PatchMode(patchSrcOuts);

    /// <summary>
    /// Makes the masks trainable until disposed (and turns dropout on the masks on), then makes them
    /// constants again. Gradients accumulate in each mask's <c>grad</c>.
    /// </summary>
    IDisposable TrainMaskMode(bool requiresGrad = true);

    /// <summary>Applies a mask function (and dropout on the masks while training) until disposed.</summary>
    IDisposable MaskFunctionMode(MaskFunction function, double dropout = 0.0);

    /// <summary>
    /// The activations that ablate each source for one batch of inputs: <c>[n_src, batch, seq, d]</c>,
    /// for the batch-wise ablation types (resample = the outputs on <paramref name="input"/>, zero,
    /// batch-tokenwise-mean, batch-all-tok-mean). Runs without gradients.
    /// </summary>
    Tensor SourceAblations(Tensor input, AblationType type = AblationType.Resample);

    /// <summary>
    /// The dataset-mean ablations (tokenwise-mean-clean/corrupt/clean-and-corrupt) over
    /// <paramref name="batches"/>: <c>[n_src, batch, seq, d]</c>, the same for every batch.
    /// </summary>
    Tensor SourceAblations(IReadOnlyList<PromptBatch> batches, AblationType type);

    /// <summary>A new set of scores shaped like the masks, filled with <paramref name="value"/>, on this model's device.</summary>
    PruneScores NewPruneScores(double value = 0);
}
