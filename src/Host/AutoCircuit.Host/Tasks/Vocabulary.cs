using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// What the task generators ask of a model's tokenizer: which words are one token, and how to say in an error which
/// word is not (so that a task that cannot be expressed in a vocabulary is refused naming the word and the tokenizer).
/// </summary>
internal static class Vocabulary
{
    /// <summary>The words of <paramref name="words"/> that are one token after a space (<c>" Mary"</c>), and those that are not.</summary>
    public static (List<string> Single, List<string> Split) SingleTokensAfterSpace(ITokenizer tokenizer, IEnumerable<string> words)
    {
        var single = new List<string>();
        var split = new List<string>();
        foreach (var w in words)
        {
            (tokenizer.Encode(" " + w).Count == 1 ? single : split).Add(w);
        }

        return (single, split);
    }

    /// <summary>How <paramref name="tokenizer"/> encodes <paramref name="text"/>, for messages: <c>" Mary" → 2 tokens [" M", "ary"]</c>.</summary>
    public static string Describe(ITokenizer tokenizer, string text)
    {
        var ids = tokenizer.Encode(text);
        return $"\"{text}\" → {ids.Count} token{(ids.Count == 1 ? string.Empty : "s")} [{string.Join(", ", ids.Select(i => $"\"{tokenizer.TokenText(i)}\""))}]";
    }

    /// <summary>Up to <paramref name="max"/> of <paramref name="words"/> described (after a space), for messages.</summary>
    public static string Examples(ITokenizer tokenizer, IEnumerable<string> words, int max = 3) =>
        string.Join("; ", words.Take(max).Select(w => Describe(tokenizer, " " + w)));
}
