using AutoCircuit.Models.Transformers;
using TorchSharp;

namespace AutoCircuit.Host.Data;

/// <summary>
/// What a transformer accepts, checked at the boundary before any batch is made: token ids are integers in
/// <c>0..vocab-1</c> and a prompt (with its cached prefix) is no longer than the context. Without it a bad id reaches
/// libtorch's embedding (<c>index out of range in self</c>) and a 100,000-token prompt tries to allocate gigabytes.
/// </summary>
internal static class PromptLimits
{
    /// <summary>Numeric (pre-tokenized) prompts as written in the file: the message names the prompt, field and index.</summary>
    /// <exception cref="DatasetException">A token id or a length the model cannot take.</exception>
    public static void CheckTokenIds(string source, IEnumerable<PromptRecord> prompts, TransformerConfig config)
    {
        foreach (var p in prompts)
        {
            foreach (var (input, name) in new[] { (p.Clean, "clean"), (p.Corrupt, "corrupt") })
            {
                if (input.IsText || input.Shape!.Length != 1)
                {
                    continue; // the encoder refuses these with their own message
                }

                if (input.Length > config.ContextLength)
                {
                    throw TooLong(source, $"prompts[{p.Index}].{name}", input.Length, config);
                }

                var values = input.Values!;
                for (var j = 0; j < values.Length; j++)
                {
                    var v = values[j];
                    if (v != Math.Floor(v) || v < 0 || v >= config.VocabSize)
                    {
                        throw new DatasetException(
                            $"{source}: prompts[{p.Index}].{name}[{j}] is {v}: token ids must be integers in 0..{config.VocabSize - 1} " +
                            $"(the vocabulary of {config.Name}).");
                    }
                }
            }
        }
    }

    /// <summary>Encoded prompts (any source, e.g. a tokenizer larger than the model's vocabulary): one read of the
    /// extremes.</summary>
    /// <exception cref="DatasetException">An id outside the vocabulary or rows longer than the context.</exception>
    public static void CheckEncoded(string source, EncodedPrompts encoded, TransformerConfig config)
    {
        var width = encoded.Clean.size(1);
        if (width > config.ContextLength)
        {
            throw TooLong(source, "the longest prompt", width, config);
        }

        foreach (var t in new[] { encoded.Clean, encoded.Corrupt })
        {
            if (t.numel() == 0)
            {
                continue;
            }

            using var scope = torch.NewDisposeScope();
            var (lo, hi) = (t.min().ToInt64(), t.max().ToInt64());
            if (lo < 0 || hi >= config.VocabSize)
            {
                throw new DatasetException(
                    $"{source}: token id {(lo < 0 ? lo : hi)} (after tokenization) is outside the vocabulary of {config.Name} " +
                    $"(0..{config.VocabSize - 1}); the tokenizer does not match the model.");
            }
        }
    }

    /// <summary>The refusal of a prompt of <paramref name="tokens"/> tokens.</summary>
    public static DatasetException TooLong(string source, string what, long tokens, TransformerConfig config) => new(
        $"{source}: {what} is {tokens} tokens, more than the context length {config.ContextLength} of {config.Name}.");
}
