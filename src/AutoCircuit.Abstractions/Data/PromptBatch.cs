using AutoCircuit.Tensors;
using static TorchSharp.torch;

namespace AutoCircuit.Data;

/// <summary>
/// A batch of clean/corrupt prompt pairs with their answers (auto-circuit's <c>PromptPairBatch</c>).
/// Owned by the dataset it came from: algorithms read it and never dispose it.
/// </summary>
public sealed class PromptBatch : IDisposable
{
    /// <summary>Creates a batch. Takes ownership of the tensors.</summary>
    public PromptBatch(int key, Tensor clean, Tensor corrupt, AnswerSet answers, AnswerSet wrongAnswers, int divergeIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(clean);
        ArgumentNullException.ThrowIfNull(corrupt);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(wrongAnswers);
        if (!TensorSizes.SameSizes(clean, corrupt))
        {
            throw new ArgumentException(
                $"Clean [{string.Join(", ", clean.shape)}] and corrupt [{string.Join(", ", corrupt.shape)}] inputs differ in shape.");
        }

        Key = key;
        Clean = clean;
        Corrupt = corrupt;
        Answers = answers;
        WrongAnswers = wrongAnswers;
        DivergeIndex = divergeIndex;
    }

    /// <summary>A key unique within a run: identifies the batch in per-batch caches.</summary>
    public int Key { get; }

    /// <summary>Clean inputs: token ids <c>[batch, seq]</c>, or vectors <c>[batch, seq, d]</c> for the micro model.</summary>
    public Tensor Clean { get; }

    /// <summary>Corrupt inputs, same shape as <see cref="Clean"/>.</summary>
    public Tensor Corrupt { get; }

    /// <summary>Correct answers for the clean prompts.</summary>
    public AnswerSet Answers { get; }

    /// <summary>Wrong answers for the clean prompts.</summary>
    public AnswerSet WrongAnswers { get; }

    /// <summary>Smallest position at which a clean and its corrupt prompt differ in this batch.</summary>
    public int DivergeIndex { get; }

    /// <summary>Number of prompt pairs.</summary>
    public long Size => Clean.size(0);

    /// <summary>
    /// Prompts <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> - 1 as a batch of views
    /// (same <see cref="Key"/>; dispose it to release the views, the data stay). For processing a batch in chunks of
    /// prompts (see <see cref="Patching.IPatchMemoryBudget"/>).
    /// </summary>
    public PromptBatch Rows(long start, long count)
    {
        if (start < 0 || count < 1 || start + count > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Rows {start}..{start + count - 1} are outside the batch's {Size} prompts.");
        }

        return new PromptBatch(
            Key, Clean.narrow(0, start, count), Corrupt.narrow(0, start, count), Answers.Rows(start, count),
            WrongAnswers.Rows(start, count), DivergeIndex);
    }

    /// <summary>Clean or corrupt inputs by name.</summary>
    public Tensor Input(bool clean) => clean ? Clean : Corrupt;

    /// <inheritdoc />
    public void Dispose()
    {
        Clean.Dispose();
        Corrupt.Dispose();
        Answers.Dispose();
        WrongAnswers.Dispose();
    }
}
