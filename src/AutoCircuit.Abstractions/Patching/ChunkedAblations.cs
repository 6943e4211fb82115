using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// The ablations of one batch, handed out chunk by chunk of prompts (see <see cref="IPatchMemoryBudget"/>): each
/// <see cref="For"/> equals those rows of <see cref="IPatchableModel.SourceAblations(Tensor, AblationType)"/> on the
/// whole batch, while only one chunk's source outputs are recorded at a time. Batch means are summed over the chunks
/// and divided by the batch size (the same mean, in a different order of float additions).
/// </summary>
public sealed class ChunkedAblations : IDisposable
{
    private readonly IPatchableModel _model;
    private readonly Tensor? _input;
    private readonly AblationType _type;
    private readonly bool _split;
    private readonly Tensor? _shared; // batch or dataset mean [n_src, 1, T|1, d] (or a full tensor to narrow)
    private readonly bool _ownsShared;

    private ChunkedAblations(IPatchableModel model, Tensor? input, AblationType type, bool split, Tensor? shared, bool ownsShared)
    {
        _model = model;
        _input = input;
        _type = type;
        _split = split;
        _shared = shared;
        _ownsShared = ownsShared;
    }

    /// <summary>
    /// Ablations of type <paramref name="type"/> (resample, zero, batch-tokenwise-mean, batch-all-tok-mean) of
    /// <paramref name="input"/> <c>[batch, ...]</c>, to be taken in <paramref name="chunks"/>.
    /// </summary>
    public static ChunkedAblations Create(IPatchableModel model, Tensor input, AblationType type, IReadOnlyList<(long Start, long Count)> chunks)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(chunks);
        if (type.IsMeanOverDataset())
        {
            throw new ArgumentException($"Ablation '{type.ToCliName()}' is a dataset mean: use FromDatasetMean.", nameof(type));
        }

        var split = chunks.Count > 1;
        if (type == AblationType.Zero && input.size(0) > 0)
        {
            // Zeros of the source outputs' shape, from one prompt ([S, 1, T, d]), viewed for every prompt: no
            // [S, batch, T, d] tensor and no forward pass over the batch.
            using var first = input.narrow(0, 0, 1);
            var zero = model.SourceAblations(first, AblationType.Zero); // [S, 1, T, d]
            return new ChunkedAblations(model, input, type, split, zero.DetachFromDisposeScope(), true);
        }

        if (!split || type == AblationType.Resample)
        {
            return new ChunkedAblations(model, input, type, split, null, false);
        }

        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        Tensor? sum = null; // [S, 1, T, d]
        foreach (var (s, c) in chunks)
        {
            var part = input.narrow(0, s, c);
            var outs = model.SourceAblations(part, AblationType.Resample); // [S, c, T, d]
            var partSum = outs.sum([1L], keepdim: true);
            outs.Dispose();
            sum = sum is null ? partSum : sum.add_(partSum);
        }

        var mean = sum! / input.size(0); // [S, 1, T, d]
        if (type == AblationType.BatchAllTokMean)
        {
            mean = mean.mean([2L], keepdim: true); // [S, 1, 1, d]
        }

        return new ChunkedAblations(model, input, type, split, mean.DetachFromDisposeScope(), true);
    }

    /// <summary>The same dataset-mean ablation (<c>[n_src, batch, seq, d]</c>) for every chunk (not owned).</summary>
    public static ChunkedAblations FromDatasetMean(IPatchableModel model, Tensor datasetMean)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(datasetMean);
        return new ChunkedAblations(model, null, AblationType.TokenwiseMeanClean, true, datasetMean, false);
    }

    /// <summary>
    /// Whether every <see cref="For"/> returns a tensor of its own (computed for those prompts), which the caller may
    /// hand over (<see cref="IPatchableModel.PatchModeConsuming"/>); <c>false</c> when chunks may share storage with a
    /// mean kept for the other chunks (dataset means, batch means split into chunks) or are views of zeros (zero
    /// ablations: one <c>[n_src, 1, seq, d]</c> tensor viewed for every prompt, read-only).
    /// </summary>
    public bool OwnTensorPerChunk => _input is not null && _shared is null;

    /// <summary>The ablations of prompts <paramref name="start"/> .. + <paramref name="count"/>: <c>[n_src, count, seq, d]</c> (the caller disposes it).</summary>
    public Tensor For(long start, long count)
    {
        if (_input is null)
        {
            return _shared!.narrow(1, start, count); // dataset mean
        }

        if (!_split && _type != AblationType.Zero)
        {
            var all = _model.SourceAblations(_input, _type);
            if (start == 0 && count == all.size(1))
            {
                return all;
            }

            using (all)
            {
                return all.narrow(1, start, count);
            }
        }

        var shape = _shared?.Sizes();
        if (_type == AblationType.Zero)
        {
            shape![1] = count;
            return _shared!.expand(shape); // [S, 1, T, d] -> [S, count, T, d], a view of zeros
        }

        using var rows = _input.narrow(0, start, count);
        if (_shared is null)
        {
            return _model.SourceAblations(rows, _type); // resample: row by row
        }

        shape![1] = count;
        shape[2] = _input.size(1);
        using var expanded = _shared.expand(shape);
        return expanded.contiguous();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsShared)
        {
            _shared?.Dispose();
        }
    }
}
