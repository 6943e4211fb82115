using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Tests.Data;

/// <summary>
/// A test tokenizer: one token per space-separated word (with its leading space, as GPT-2 does), ids from a fixed
/// word list starting at 3; BOS 1, EOS 2. A word with a '+' is split into two tokens there ("ab+cd" → "ab", "cd"),
/// to make multi-token answers; other words are spelled out, one unknown token (0) per letter. Fits the small test
/// transformers (vocabulary 50).
/// </summary>
internal sealed class WordTokenizer(int? bos = 1, int? eos = 2) : ITokenizer
{
    private static readonly string[] Words =
    [
        "the", "cat", "sat", "on", "mat", "and", "then", "dog", "ran", "to", "park", "a", "big", "red", "ball",
        "Mary", "John", "gave", "drink", "went", "store", "it", "was", "good", "bad", "day", "night", "sun", "moon",
        "ab", "cd", "yes", "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];

    public string Name => "word tokenizer (test)";

    public int VocabSize => 3 + Words.Length;

    public int? BosId => bos;

    public int? EosId => eos;

    public int? PadId => null;

    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var part in word.Split('+'))
            {
                var i = Array.IndexOf(Words, part);
                if (i < 0)
                {
                    ids.AddRange(part.Select(_ => 0));
                }
                else
                {
                    ids.Add(3 + i);
                }
            }
        }

        return ids;
    }

    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Where(i => i >= 3).Select(TokenText));

    public string TokenText(int id) => id switch
    {
        0 => "?",
        1 => "<bos>",
        2 => "<eos>",
        _ => " " + Words[id - 3],
    };
}
