using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Data;

/// <summary>
/// Encodes text prompts with a model's tokenizer as auto-circuit's <c>load_datasets_from_json</c>
/// does: BOS prepended (optional), every clean and corrupt prompt of the selection left-padded to
/// the longest one with the model's pad id, answers as single token ids, <c>seq_labels</c> and
/// <c>word_idxs</c> shifted for the BOS.
/// </summary>
/// <remarks>
/// auto-circuit pads the clean prompts and the corrupt prompts separately (each to its own
/// longest); we pad both to the longest of all, so that a selection whose longest clean and corrupt
/// prompts differ in length still gives clean and corrupt tensors of one shape (auto-circuit fails
/// on such a selection when it compares them). Numeric answers (token ids) are taken as given.
/// </remarks>
/// <param name="tokenizer">The model's tokenizer.</param>
/// <param name="padding">The model's left-padding rule (its pad id); <c>null</c> when the model has none, then
/// every prompt must have the same length.</param>
/// <param name="prependBos">Start every prompt with the tokenizer's BOS (auto-circuit's default).</param>
/// <param name="model">The model's config, when known: a prompt longer than its context is refused as soon as it is
/// tokenized, before any tensor is made.</param>
public sealed class TextPromptEncoder(ITokenizer tokenizer, TokenPadding? padding, bool prependBos = true, TransformerConfig? model = null)
    : IPromptEncoder
{
    /// <summary>The label auto-circuit gives the BOS position in <c>seq_labels</c>.</summary>
    public const string BosLabel = "<|BOS|>";

    /// <summary>Whether prompts start with BOS.</summary>
    public bool PrependBos => prependBos;

    /// <inheritdoc />
    public EncodedPrompts Encode(DatasetDocument document, IReadOnlyList<PromptRecord> prompts)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var src = document.Path;
        int? bos = null;
        if (prependBos)
        {
            bos = tokenizer.BosId ?? throw new DatasetException(
                $"{src}: {tokenizer.Name} has no BOS token to prepend; use --no-prepend-bos.");
        }

        var clean = new List<long>[prompts.Count];
        var corrupt = new List<long>[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i];
            if (!p.Clean.IsText)
            {
                throw new DatasetException(
                    $"{src}: prompts[{p.Index}] is numeric but other prompts are text; a dataset is all text or all token ids.");
            }

            clean[i] = Tokens(p.Clean.Text!, bos);
            corrupt[i] = Tokens(p.Corrupt.Text!, bos);
            foreach (var (row, name) in new[] { (clean[i], "clean"), (corrupt[i], "corrupt") })
            {
                if (model is not null && row.Count > model.ContextLength)
                {
                    throw PromptLimits.TooLong(src, $"prompts[{p.Index}].{name}", row.Count, model);
                }
            }

            if (clean[i].Count == 0 || corrupt[i].Count == 0)
            {
                throw new DatasetException($"{src}: prompts[{p.Index}].{(clean[i].Count == 0 ? "clean" : "corrupt")} is empty.");
            }
        }

        var lengths = clean.Concat(corrupt).Select(r => r.Count).ToList();
        var width = lengths.Max();
        var allSame = lengths.All(l => l == width);
        if (!allSame && padding is null)
        {
            var shortest = Array.FindIndex(clean, r => r.Count != width);
            var at = shortest >= 0 ? prompts[shortest].Index : prompts[Array.FindIndex(corrupt, r => r.Count != width)].Index;
            throw new DatasetException(
                $"{src}: prompts differ in length (e.g. prompts[{at}]) and the model has no padding token; " +
                "every prompt must have the same number of tokens.");
        }

        var answers = new long[prompts.Count][];
        var wrong = new long[prompts.Count][];
        for (var i = 0; i < prompts.Count; i++)
        {
            answers[i] = AnswerIds(src, prompts[i], prompts[i].Answers, "answers");
            wrong[i] = AnswerIds(src, prompts[i], prompts[i].WrongAnswers, "wrong_answers");
        }

        var pad = padding?.PadId ?? 0;
        var seqLabels = document.SeqLabels;
        var wordIdxs = document.WordIdxs;
        if (prependBos)
        {
            seqLabels = seqLabels is null ? null : [BosLabel, .. seqLabels];
            wordIdxs = wordIdxs.ToDictionary(kv => kv.Key, kv => kv.Value + 1, StringComparer.Ordinal);
        }

        return new EncodedPrompts(
            LeftPadded(clean, width, pad),
            LeftPadded(corrupt, width, pad),
            answers,
            wrong,
            allSame,
            seqLabels,
            wordIdxs);
    }

    private List<long> Tokens(string text, int? bos)
    {
        var ids = new List<long>();
        if (bos is int b)
        {
            ids.Add(b);
        }

        ids.AddRange(tokenizer.Encode(text).Select(i => (long)i));
        return ids;
    }

    private long[] AnswerIds(string src, PromptRecord prompt, AnswerList list, string name)
    {
        if (list.Ids is { } ids)
        {
            return ids;
        }

        var result = new long[list.Texts!.Length];
        for (var j = 0; j < result.Length; j++)
        {
            var text = list.Texts[j];
            var tokens = tokenizer.Encode(text);
            if (tokens.Count != 1)
            {
                var shown = string.Join(", ", tokens.Select(t => $"{t} \"{tokenizer.TokenText(t)}\""));
                throw new DatasetException(
                    $"{src}: prompts[{prompt.Index}].{name}[{j}] \"{text}\" is {tokens.Count} tokens ([{shown}]) with {tokenizer.Name}; " +
                    "every answer must be exactly one token.");
            }

            result[j] = tokens[0];
        }

        return result;
    }

    private static Tensor LeftPadded(List<long>[] rows, int width, long pad)
    {
        var ids = new long[rows.Length * width];
        for (var i = 0; i < rows.Length; i++)
        {
            var offset = width - rows[i].Count;
            Array.Fill(ids, pad, i * width, offset);
            rows[i].CopyTo(ids, (i * width) + offset);
        }

        return torch.tensor(ids, [rows.Length, width], dtype: ScalarType.Int64); // [n, T]
    }
}
