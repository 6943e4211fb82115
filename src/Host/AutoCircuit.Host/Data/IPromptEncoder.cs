namespace AutoCircuit.Host.Data;

/// <summary>
/// The prompts of a split, encoded for a model: <c>Clean</c>/<c>Corrupt</c> are <c>[n, seq]</c> token ids
/// or <c>[n, seq, d]</c> vectors (CPU), answers are output indices per prompt.
/// </summary>
/// <param name="Clean">Clean inputs for all prompts, row <c>i</c> = prompt <c>i</c> of the selection.</param>
/// <param name="Corrupt">Corrupt inputs, same shape.</param>
/// <param name="Answers">Answer indices per prompt.</param>
/// <param name="WrongAnswers">Wrong-answer indices per prompt.</param>
/// <param name="AllSameLength">Whether every prompt has the same length without padding (needed for token positions).</param>
/// <param name="SeqLabels">Position labels after encoding (e.g. with BOS prepended), if any.</param>
/// <param name="WordIdxs">Positions of named words after encoding (shifted by one when BOS was prepended).</param>
public sealed record EncodedPrompts(
    TorchSharp.torch.Tensor Clean,
    TorchSharp.torch.Tensor Corrupt,
    long[][] Answers,
    long[][] WrongAnswers,
    bool AllSameLength,
    IReadOnlyList<string>? SeqLabels,
    IReadOnlyDictionary<string, int>? WordIdxs = null);

/// <summary>Turns dataset prompts into model inputs (numbers as given, or text through a tokenizer).</summary>
public interface IPromptEncoder
{
    /// <summary>Encodes the selected prompts (already shuffled and cut to the split sizes).</summary>
    /// <exception cref="DatasetException">A prompt does not fit the model; the message names it.</exception>
    EncodedPrompts Encode(DatasetDocument document, IReadOnlyList<PromptRecord> prompts);
}
