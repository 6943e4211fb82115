using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Data;

/// <summary>
/// Encodes numeric prompts as given: vectors <c>[seq, d]</c> for models over vectors (the micro
/// model), or integer token ids <c>[seq]</c> for pre-tokenized transformer datasets.
/// </summary>
/// <param name="vectorSize">Input vector size for vector models, or <c>null</c> for token ids.</param>
public sealed class NumericPromptEncoder(int? vectorSize) : IPromptEncoder
{
    /// <inheritdoc />
    public EncodedPrompts Encode(DatasetDocument document, IReadOnlyList<PromptRecord> prompts)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(prompts);
        var src = document.Path;
        var first = prompts[0];
        foreach (var p in prompts)
        {
            if (p.Clean.IsText)
            {
                throw new DatasetException(
                    $"{src}: prompts[{p.Index}] is text, but this model takes {(vectorSize is null ? "token ids" : "vectors")} given as numbers.");
            }

            foreach (var (input, name) in new[] { (p.Clean, "clean"), (p.Corrupt, "corrupt") })
            {
                if (vectorSize is int d)
                {
                    if (input.Shape!.Length != 2 || input.Shape[1] != d)
                    {
                        throw new DatasetException(
                            $"{src}: prompts[{p.Index}].{name} has shape [{string.Join(", ", input.Shape)}]; this model takes [seq, {d}] vectors.");
                    }
                }
                else if (input.Shape!.Length != 1 || !input.IsIntegral)
                {
                    throw new DatasetException(
                        $"{src}: prompts[{p.Index}].{name} must be a flat array of integer token ids; found shape [{string.Join(", ", input.Shape)}].");
                }
            }

            if (!p.Clean.Shape!.SequenceEqual(first.Clean.Shape!))
            {
                throw new DatasetException(
                    $"{src}: prompts[{p.Index}] has length {p.Clean.Length} but prompts[{first.Index}] has {first.Clean.Length}; " +
                    "numeric prompts are not padded, so every prompt must have the same shape.");
            }

            if (p.Answers.Ids is null || p.WrongAnswers.Ids is null)
            {
                throw new DatasetException($"{src}: prompts[{p.Index}]: answers must be integer indices for numeric prompts.");
            }
        }

        var shape = new long[] { prompts.Count }.Concat(first.Clean.Shape!).ToArray();
        var n = prompts.Sum(p => p.Clean.Values!.Length);
        Tensor Build(Func<PromptRecord, PromptInput> pick)
        {
            if (vectorSize is null)
            {
                var ids = new long[n];
                var k = 0;
                foreach (var p in prompts)
                {
                    foreach (var v in pick(p).Values!)
                    {
                        ids[k++] = (long)v;
                    }
                }

                return torch.tensor(ids, shape, dtype: ScalarType.Int64);
            }

            var values = new float[n];
            var j = 0;
            foreach (var p in prompts)
            {
                foreach (var v in pick(p).Values!)
                {
                    values[j++] = (float)v;
                }
            }

            return torch.tensor(values, shape, dtype: ScalarType.Float32);
        }

        return new EncodedPrompts(
            Build(p => p.Clean),
            Build(p => p.Corrupt),
            prompts.Select(p => p.Answers.Ids!).ToArray(),
            prompts.Select(p => p.WrongAnswers.Ids!).ToArray(),
            AllSameLength: true,
            document.SeqLabels,
            document.WordIdxs);
    }
}
