using AutoCircuit.Tensors;
using static TorchSharp.torch;

namespace AutoCircuit.Data;

/// <summary>
/// The answer token ids of a batch. Prompts may have different numbers of answers (auto-circuit
/// then keeps a list of tensors); here they are padded into one <c>[batch, max_answers]</c> tensor
/// with a <see cref="Mask"/> marking the real entries, so answer math stays batched.
/// </summary>
public sealed class AnswerSet : IDisposable
{
    /// <summary>Creates an answer set. Takes ownership of the tensors.</summary>
    /// <param name="ids">Token ids, <c>[batch, max_answers]</c>, int64; padding entries may hold any valid id.</param>
    /// <param name="mask">Which entries are real answers (<c>[batch, max_answers]</c>, bool), or <c>null</c>
    /// when every prompt has <c>max_answers</c> answers.</param>
    public AnswerSet(Tensor ids, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"Answer ids must be [batch, answers]; got [{string.Join(", ", ids.shape)}].", nameof(ids));
        }

        if (mask is not null && !TensorSizes.SameSizes(mask, ids))
        {
            throw new ArgumentException("Answer mask must have the shape of the ids.", nameof(mask));
        }

        Ids = ids;
        Mask = mask;
    }

    /// <summary>Answer token ids <c>[batch, max_answers]</c> (int64).</summary>
    public Tensor Ids { get; }

    /// <summary>Real-answer mask <c>[batch, max_answers]</c> (bool), or <c>null</c> when rectangular.</summary>
    public Tensor? Mask { get; }

    /// <summary>Whether every prompt has the same number of answers.</summary>
    public bool IsRectangular => Mask is null;

    /// <summary>Number of prompts.</summary>
    public long BatchSize => Ids.size(0);

    /// <summary>
    /// Per-prompt mean of <paramref name="values"/> at the answer ids: <c>[batch]</c>.
    /// <paramref name="values"/> is <c>[batch, vocab]</c>.
    /// </summary>
    public Tensor MeanPerPrompt(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        using var gathered = values.gather(-1, Ids);
        if (Mask is null)
        {
            return gathered.mean([-1L]);
        }

        using var maskF = Mask.to_type(gathered.dtype);
        using var summed = (gathered * maskF).sum(-1);
        using var counts = maskF.sum(-1);
        return summed / counts;
    }

    /// <summary>The answers of prompts <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1 (views of these tensors).</summary>
    public AnswerSet Rows(long start, long count) => new(Ids.narrow(0, start, count), Mask?.narrow(0, start, count));

    /// <summary>Moves the answers to a device (a new set; this one is unchanged).</summary>
    public AnswerSet To(Device device) => new(Ids.to(device), Mask?.to(device));

    /// <inheritdoc />
    public void Dispose()
    {
        Ids.Dispose();
        Mask?.Dispose();
    }
}
