using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// How masks act, as set by <see cref="PatchableModel.MaskFunctionMode"/> and <see cref="PatchableModel.TrainMaskMode"/>
/// (auto-circuit's <c>mask_fn</c>, <c>dropout_layer.p</c> and the wrappers' <c>train()</c>); each forward pass reads
/// them once, when it starts.
/// </summary>
/// <param name="Function">The mask function applied before the patch.</param>
/// <param name="Dropout">Dropout probability on the masks.</param>
/// <param name="Training">Masks are being trained (dropout applies only then).</param>
/// <param name="RowValues">Values added to every mask for each prompt row, <c>[batch]</c>
/// (<see cref="PatchableModel.MaskValuesPerRow"/>); <c>null</c>: every row uses the masks as they are.</param>
/// <param name="GroupMasks">Whole masks per group of prompt rows, by destination module, <c>[K, T?, H?, S]</c> each
/// (<see cref="PatchableModel.MasksPerRowGroup"/>): the batch is K equal groups of rows, group k patched with masks k;
/// <c>null</c>: the masks of the model.</param>
internal readonly record struct MaskSettings(
    MaskFunction Function, double Dropout, bool Training, Tensor? RowValues = null, IReadOnlyDictionary<string, Tensor>? GroupMasks = null)
{
    /// <summary>Dropout is applied to the masks in this forward pass.</summary>
    public bool DropoutActive => Dropout > 0 && Training;
}
