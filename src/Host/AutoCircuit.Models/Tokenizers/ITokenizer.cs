namespace AutoCircuit.Models.Tokenizers;

/// <summary>
/// Text to token ids and back, for one model's vocabulary. <see cref="Encode"/> adds no special
/// tokens: whether a prompt starts with BOS is the caller's decision (auto-circuit's
/// <c>prepend_bos</c>).
/// </summary>
public interface ITokenizer
{
    /// <summary>What the tokenizer is, for logs, e.g. <c>GPT-2 BPE (built-in)</c>.</summary>
    string Name { get; }

    /// <summary>Number of ids (the model's vocabulary must be at least this large to use every id).</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, if the vocabulary has one.</summary>
    int? BosId { get; }

    /// <summary>End-of-sequence id, if the vocabulary has one.</summary>
    int? EosId { get; }

    /// <summary>Padding id the tokenizer declares, if any (GPT-2 declares none; left padding then uses EOS, as TransformerLens does).</summary>
    int? PadId { get; }

    /// <summary>The ids of <paramref name="text"/>, without BOS or EOS.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>
    /// The ids as the model's own Hugging Face tokenizer gives them by default (<c>add_special_tokens=True</c>):
    /// <see cref="Encode"/> with the BOS/EOS that tokenizer adds (none for GPT-2; BOS for SentencePiece Llama
    /// tokenizers; for <c>tokenizer.json</c> what its post-processor and <c>tokenizer_config.json</c> say).
    /// </summary>
    IReadOnlyList<int> EncodeWithSpecialTokens(string text) => Encode(text);

    /// <summary>The text of <paramref name="ids"/>; special tokens (BOS, EOS) are left out.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>The text of one token as it appears in a decoded sequence (for labels), e.g. <c>" Mary"</c>.</summary>
    string TokenText(int id);
}
