using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The arithmetic every patch mode shares: a destination's mask after the mask function and dropout, auto-circuit's
/// einsum, and the same contraction as one matrix product with heads first in memory. No host reads.
/// </summary>
internal static class PatchMath
{
    /// <summary>Whether a destination's patch is one matrix product (no token-position axis, no per-prompt masks).</summary>
    public static bool IsMatrixProduct(PatchWrapper destination, MaskSettings masks) =>
        destination.Destination!.SeqLen is null && masks.Function != MaskFunction.HardConcrete && masks.RowValues is null
        && masks.GroupMasks is null;

    /// <summary>
    /// Whether a destination's patch with mask values per row (<see cref="MaskSettings.RowValues"/>) is one matrix
    /// product and a sum (<see cref="RowValuesProduct"/>): no token-position axis (the mask function is already refused
    /// with row values).
    /// </summary>
    public static bool IsRowValuesProduct(PatchWrapper destination, MaskSettings masks) =>
        destination.Destination!.SeqLen is null && masks.RowValues is not null && masks.Function == MaskFunction.None;

    /// <summary>
    /// <c>einsum(mask function(mask), diff)</c> for one destination, with per-prompt sampling (hard concrete) and dropout:
    /// auto-circuit's <c>einsum(mask, d, "{batch} {seq} {dest} src, src batch {dims} ... -> batch {dims} {dest} ...")</c>.
    /// </summary>
    /// <param name="destination">The destination (its mask and einsum equations).</param>
    /// <param name="masks">Mask function and dropout.</param>
    /// <param name="batchSize">Prompts in the batch (hard-concrete samples one mask per prompt).</param>
    /// <param name="diff"><c>patch - curr</c> of the incoming sources, <c>[S, B, T, d...]</c>.</param>
    /// <returns>The patch, <c>[B, T, H?, d...]</c>.</returns>
    public static Tensor Contract(PatchWrapper destination, MaskSettings masks, long batchSize, Tensor diff)
    {
        var mask = destination.Mask!;
        Tensor weights;
        var sampled = false;
        if (masks.GroupMasks is { } groups)
        {
            return GroupContract(destination, groups[destination.ModuleName], batchSize, diff);
        }

        if (masks.RowValues is { } rows)
        {
            // Mask values per row: [T?, H?, S] + [B, 1?, 1?, 1] -> one mask per prompt row, [B, T?, H?, S].
            if (rows.size(0) != batchSize)
            {
                throw new ArgumentException($"Mask values per row: {rows.size(0)} values for a batch of {batchSize} prompt rows.");
            }

            using var column = rows.view([batchSize, .. Enumerable.Repeat(1L, (int)mask.dim())]); // [B, 1, ..., 1]
            using var perRow = mask + column; // [B, T?, H?, S]
            using var typed = perRow.dtype == diff.dtype ? null : perRow.to_type(diff.dtype); // half-precision buffers
            return torch.einsum(destination.EinsumSampled, typed ?? perRow, diff); // -> [B, T, H?, d...]
        }

        switch (masks.Function)
        {
            case MaskFunction.HardConcrete:
                weights = HardConcrete.Sample(mask, batchSize); // [B, T?, H?, S]
                sampled = true;
                break;
            case MaskFunction.Sigmoid:
                weights = torch.sigmoid(mask); // [T?, H?, S]
                break;
            default:
                weights = mask.alias(); // [T?, H?, S]
                break;
        }

        if (weights.dtype != diff.dtype)
        {
            using var full = weights;
            weights = full.to_type(diff.dtype);
        }

        var equation = sampled ? destination.EinsumSampled : destination.Einsum;
        using (weights)
        {
            if (masks.DropoutActive)
            {
                using var dropped = torch.nn.functional.dropout(weights, masks.Dropout, training: true);
                return torch.einsum(equation, dropped, diff); // [T?, H?, S] x [S, B, T, d...] -> [B, T, H?, d...]
            }

            return torch.einsum(equation, weights, diff); // [T?, H?, S] x [S, B, T, d...] -> [B, T, H?, d...]
        }
    }

    /// <summary>
    /// The patch with one mask per group of rows: the batch's rows are K groups of R (group k patched with
    /// <paramref name="groupMasks"/>[k]), as K passes with those masks would patch them, in one einsum (a batched product
    /// over the groups).
    /// </summary>
    /// <param name="destination">The destination (its grouped einsum).</param>
    /// <param name="groupMasks">The destination's masks, <c>[K, T?, H?, S]</c>.</param>
    /// <param name="batchSize">Prompt rows in the pass, <c>K * R</c>.</param>
    /// <param name="diff"><c>patch - curr</c> of the incoming sources, <c>[S, B, T, d...]</c>.</param>
    /// <returns>The patch, <c>[B, T, H?, d...]</c>.</returns>
    public static Tensor GroupContract(PatchWrapper destination, Tensor groupMasks, long batchSize, Tensor diff)
    {
        var groups = groupMasks.size(0);
        if (batchSize % groups != 0)
        {
            throw new ArgumentException($"Masks per row group: {groups} groups do not divide a batch of {batchSize} prompt rows.");
        }

        using var typed = groupMasks.dtype == diff.dtype ? groupMasks.alias() : groupMasks.to_type(diff.dtype);
        using var split = diff.unflatten(1, [groups, batchSize / groups]); // [S, B, T, d...] -> [S, K, R, T, d...], a view
        using var grouped = torch.einsum(destination.EinsumGrouped, typed, split); // [K, R, T, H?, d...]
        return grouped.flatten(0, 1); // [B, T, H?, d...]
    }

    /// <summary>The destination's mask after the mask function (not sampled), <c>[H?, S]</c>, in <paramref name="dtype"/>.</summary>
    public static Tensor Weights(PatchWrapper destination, MaskSettings masks, ScalarType dtype)
    {
        var mask = destination.Mask!;
        var w = masks.Function == MaskFunction.Sigmoid ? torch.sigmoid(mask) : mask.alias();
        if (w.dtype == dtype)
        {
            return w;
        }

        using (w)
        {
            return w.to_type(dtype);
        }
    }

    /// <summary><see cref="Weights"/> with dropout while training.</summary>
    public static Tensor DroppedWeights(PatchWrapper destination, MaskSettings masks, ScalarType dtype)
    {
        var w = Weights(destination, masks, dtype);
        if (!masks.DropoutActive)
        {
            return w;
        }

        using (w)
        {
            return torch.nn.functional.dropout(w, masks.Dropout, training: true);
        }
    }

    /// <summary>
    /// <c>weights @ diff</c> as one matrix product: <paramref name="weights"/> <c>[H, S]</c> (or <c>[S]</c> without heads),
    /// <paramref name="diff"/> <c>[S, B, T, d...]</c>; the result is <c>[H, B, T, d...]</c> (or <c>[B, T, d...]</c>),
    /// heads first in memory. The same sum as the einsum for a destination without a token-position axis. On the CPU,
    /// without gradients, the product of a group's stacked masks runs in <see cref="PatchProductKernel"/>.
    /// </summary>
    public static Tensor HeadMajorProduct(Tensor weights, Tensor diff) =>
        PatchProductKernel.TryMultiply(weights, diff) // null where it does not apply
        ?? torch.tensordot(weights, diff, [-1L], [0L]); // [H, B, T, d...] or [B, T, d...]: one [H, S] x [S, B*T*d] product

    /// <summary>
    /// The patch with mask values per row, heads first in memory: row <c>b</c> uses <c>mask + values[b]</c>, and
    /// <c>Σ_s (mask[h, s] + values[b]) diff[s, b] = (mask @ diff)[h, b] + values[b] Σ_s diff[s, b]</c>. One matrix
    /// product over all rows and one sum over the sources instead of auto-circuit's per-row einsum (a batched product
    /// of 1 x S by S x (T d) matrices, which libtorch runs as a loop of small products after permuting
    /// <paramref name="diff"/>). Differentiable in the mask and <paramref name="diff"/>.
    /// </summary>
    /// <param name="mask">The destination's mask, <c>[H, S]</c> or <c>[S]</c>.</param>
    /// <param name="rowValues">One value per prompt row, <c>[B]</c>.</param>
    /// <param name="diff"><c>patch - curr</c>, <c>[S, B, T, d...]</c>.</param>
    /// <returns><c>[H, B, T, d...]</c> (or <c>[B, T, d...]</c> without heads), as <see cref="HeadMajorProduct"/>.</returns>
    public static Tensor RowValuesProduct(Tensor mask, Tensor rowValues, Tensor diff)
    {
        var batch = diff.size(1);
        if (rowValues.size(0) != batch)
        {
            throw new ArgumentException($"Mask values per row: {rowValues.size(0)} values for a batch of {batch} prompt rows.");
        }

        using var weights = mask.dtype == diff.dtype ? mask.alias() : mask.to_type(diff.dtype);
        using var product = HeadMajorProduct(weights, diff); // [H?, B, T, d...]
        using var rowSum = diff.sum(0L, keepdim: false); // [B, T, d...]
        using var typed = rowValues.dtype == diff.dtype ? rowValues.alias() : rowValues.to_type(diff.dtype);
        using var column = typed.view([batch, .. Enumerable.Repeat(1L, (int)rowSum.dim() - 1)]); // [B, 1, ..., 1]
        using var shift = rowSum * column; // [B, T, d...], the same for every head
        return product + shift; // broadcast over the head axis
    }

    /// <summary>
    /// <paramref name="x"/> <c>[B, T, H, d...]</c> (or <c>[B, T, d...]</c>) plus a head-major product: the sum keeps heads
    /// first in memory (the transformer then projects each head without copying), returned as <c>[B, T, H, d...]</c>.
    /// In place (into <paramref name="product"/>, which the caller still disposes) where the dtypes allow.
    /// </summary>
    public static Tensor AddHeadMajor(Tensor x, Tensor product, bool hasHeadAxis, bool inPlace)
    {
        inPlace &= product.dtype == x.dtype; // half-precision buffers: the sum is in the model's dtype
        if (!hasHeadAxis)
        {
            if (inPlace)
            {
                product.add_(x);
                return product.alias(); // the caller disposes its handle to the product
            }

            return product + x;
        }

        using var xm = x.movedim([2L], [0L]); // [B, T, H, d...] -> [H, B, T, d...], a view
        if (inPlace)
        {
            product.add_(xm);
            return product.movedim([0L], [2L]); // [H, B, T, d...] -> [B, T, H, d...]
        }

        using var sum = product + xm; // [H, B, T, d...]
        return sum.movedim([0L], [2L]); // [H, B, T, d...] -> [B, T, H, d...]
    }
}
