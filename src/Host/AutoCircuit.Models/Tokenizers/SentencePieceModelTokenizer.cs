using AutoCircuit.Engine;
using Microsoft.ML.Tokenizers;

namespace AutoCircuit.Models.Tokenizers;

/// <summary>
/// A SentencePiece model file (<c>tokenizer.model</c> of Hugging Face Llama folders) through
/// Microsoft.ML.Tokenizers' <c>LlamaTokenizer</c>.
/// </summary>
internal sealed class SentencePieceModelTokenizer : ITokenizer
{
    private readonly SentencePieceTokenizer _tokenizer;

    private SentencePieceModelTokenizer(SentencePieceTokenizer tokenizer, string name)
    {
        _tokenizer = tokenizer;
        Name = name;
        VocabSize = tokenizer.Vocabulary.Count == 0 ? 0 : tokenizer.Vocabulary.Values.Max() + 1;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public int? BosId => _tokenizer.BeginningOfSentenceId;

    /// <inheritdoc />
    public int? EosId => _tokenizer.EndOfSentenceId;

    /// <inheritdoc />
    public int? PadId => null;

    /// <summary>Reads a SentencePiece <c>.model</c> file.</summary>
    /// <exception cref="AutoCircuitException">Missing or unreadable file.</exception>
    public static SentencePieceModelTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: tokenizer file not found.");
        }

        try
        {
            using var s = File.OpenRead(path);
            return new SentencePieceModelTokenizer(LlamaTokenizer.Create(s, addBeginOfSentence: false), $"SentencePiece ({path})");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or NotSupportedException or
                                       Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new AutoCircuitException($"{path}: not a readable SentencePiece model ({e.Message}).", e);
        }
    }

    /// <summary>BOS, then <see cref="Encode"/> (what Hugging Face's Llama tokenizer gives by default).</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) => BosId is int bos ? [bos, .. Encode(text)] : Encode(text);

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids, considerSpecialTokens: false) ?? string.Empty;

    /// <inheritdoc />
    public string TokenText(int id) => _tokenizer.Decode([id], considerSpecialTokens: true) ?? string.Empty;
}
