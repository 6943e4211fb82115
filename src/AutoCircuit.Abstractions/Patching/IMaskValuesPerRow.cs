using AutoCircuit.Data;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// Optional capability of a patchable model (test with <c>model is IMaskValuesPerRow</c>): mask values that differ per
/// prompt row of one forward pass, so that several passes that differ only in their mask values (e.g. the samples of
/// integrated gradients) run as one pass over the prompts repeated. Fewer, larger operations: on small models the
/// cost of a pass is the count of its operations, not their arithmetic.
/// </summary>
public interface IMaskValuesPerRow
{
    /// <summary>
    /// Until the returned scope is disposed, row <c>r</c> of every patched forward pass uses <c>mask + values[r]</c> for
    /// every edge, where <c>mask</c> is the model's mask parameter (so the gradient of a loss with respect to the masks
    /// is the sum over rows of each row's gradient). <paramref name="values"/> is <c>[batch]</c>, one value per prompt
    /// row of the input; such passes always take the differentiable (reference) patch. Mask functions and mask
    /// dropout are refused while it is open.
    /// </summary>
    IDisposable MaskValuesPerRow(Tensor values);

    /// <summary>
    /// Bytes of source-output buffers one prompt row of <paramref name="batch"/> needs in the pass the model is set up
    /// for now (the quantity <see cref="IPatchMemoryBudget.MaxPatchRows"/> divides the budget by): how to size a pass
    /// of repeated prompts without a budget.
    /// </summary>
    long PatchBytesPerRow(PromptBatch batch);
}
