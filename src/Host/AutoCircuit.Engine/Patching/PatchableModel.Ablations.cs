using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Source outputs and the ablations made from them (auto-circuit's <c>utils/ablation_activations.py</c>).</summary>
public sealed partial class PatchableModel
{
    /// <summary>
    /// The unpatched output of every source for one batch: <c>[n_src, batch, seq, d]</c>, in the caller's dispose scope.
    /// </summary>
    /// <remarks>
    /// Runs under <c>no_grad</c> rather than inference mode: the result is used as patch activations
    /// inside gradient computations, where inference tensors would need a copy first.
    /// </remarks>
    public Tensor SourceOutputs(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_patch is not null)
        {
            throw new InvalidOperationException("Source outputs are recorded with patch mode off.");
        }

        using var _ = torch.no_grad();
        var recording = new SourceRecording(this);
        using var output = RunForward(input, () => _model.Forward(input), recording);
        return recording.Buffer ?? throw new InvalidOperationException("The forward pass did not reach any source node.");
    }

    /// <inheritdoc />
    public Tensor SourceAblations(Tensor input, AblationType type = AblationType.Resample)
    {
        if (type.IsMeanOverDataset())
        {
            throw new ArgumentException($"Ablation '{type.ToCliName()}' is a dataset mean: pass the batches, not one input.", nameof(type));
        }

        var outs = SourceOutputs(input); // [S, B, T, d]
        using var _ = torch.no_grad();
        switch (type)
        {
            case AblationType.Resample:
                return outs;
            case AblationType.Zero:
                using (outs)
                {
                    return Tracked(torch.zeros_like(outs)); // [S, B, T, d]
                }

            case AblationType.BatchTokenwiseMean:
                using (outs)
                {
                    using var mean = outs.mean([1L], keepdim: true); // [S, 1, T, d]
                    using var expanded = mean.expand(outs.Sizes()); // [S, 1, T, d] -> [S, B, T, d], a view
                    return Tracked(expanded.contiguous());
                }

            case AblationType.BatchAllTokMean:
                using (outs)
                {
                    using var mean = outs.mean([1L, 2L], keepdim: true); // [S, 1, 1, d]
                    using var expanded = mean.expand(outs.Sizes()); // [S, 1, 1, d] -> [S, B, T, d], a view
                    return Tracked(expanded.contiguous());
                }

            default:
                outs.Dispose();
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <inheritdoc />
    public Tensor SourceAblations(IReadOnlyList<PromptBatch> batches, AblationType type)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (!type.IsMeanOverDataset())
        {
            throw new ArgumentException($"Ablation '{type.ToCliName()}' is computed per batch.", nameof(type));
        }

        if (batches.Count == 0)
        {
            throw new ArgumentException("Dataset-mean ablations need at least one batch.", nameof(batches));
        }

        using var _ = torch.no_grad();
        Tensor? sum = null;
        long batchSize = 0;
        foreach (var batch in batches)
        {
            foreach (var clean in new[] { true, false })
            {
                if ((clean && !type.UsesCleanDataset()) || (!clean && !type.UsesCorruptDataset()))
                {
                    continue;
                }

                using var outs = SourceOutputs(batch.Input(clean)); // [S, B, T, d]
                using var mean = outs.mean([1L], keepdim: true); // [S, 1, T, d]
                batchSize = outs.size(1);
                if (sum is null)
                {
                    sum = mean.clone().DetachFromDisposeScope();
                }
                else
                {
                    sum.add_(mean);
                }
            }
        }

        // Batches have equal sizes, so the mean of batch means is the dataset mean.
        var mult = (type.UsesCleanDataset() ? 1 : 0) + (type.UsesCorruptDataset() ? 1 : 0);
        if (sum is null)
        {
            throw new InvalidOperationException("No batch was run.");
        }

        using (sum)
        {
            using var avg = sum / (batches.Count * mult); // [S, 1, T, d]
            var shape = avg.Sizes();
            shape[1] = batchSize;
            if (PatchOptions.MaxPatchMemoryBytes is not null)
            {
                // Under a memory budget the mean is not copied for every prompt: one [n_src, 1, seq, d] tensor, viewed.
                var view = avg.expand(shape); // [S, 1, T, d] -> [S, B, T, d], a view
                Ledger.Track(view, avg.numel() * DTypes.Bytes(avg.dtype));
                return view;
            }

            using var expanded = avg.expand(shape); // [S, 1, T, d] -> [S, B, T, d], a view
            return Tracked(expanded.contiguous());
        }
    }

    private Tensor Tracked(Tensor t)
    {
        Ledger.Track(t);
        return t;
    }
}
