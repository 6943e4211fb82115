using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// Pronoun agreement for the small story models (stories260K): "Lily was a little girl who loved to
/// dance. Every day," → " she"; the corrupt prompt is the same sentence about a boy ("Tim was a little
/// boy …"), whose answer " he" is the clean prompt's wrong answer (and the other way round for prompts
/// about boys). The 260K-parameter model is far too small for IOI, but it tracks a character's gender:
/// on these prompts the right pronoun is its top-1 next token (see the README for the measured
/// accuracy). Answers are written as the model's tokenizer continues the prompt: without the leading space for
/// llama2.c and SentencePiece tokenizers (they add it), with it for byte-level and metaspace BPE (" she").
/// </summary>
internal static class StoriesPronounTask
{
    /// <summary>Girls' names, paired by index with <see cref="Boys"/> for the corrupt prompts.</summary>
    public static IReadOnlyList<string> Girls { get; } =
        ["Lily", "Sue", "Mia", "Anna", "Lucy", "Sara", "Emma", "Amy", "Jane", "Kate", "Rose", "Ella", "Mary", "Lisa", "Kim", "Zoe"];

    /// <summary>Boys' names.</summary>
    public static IReadOnlyList<string> Boys { get; } =
        ["Tim", "Ben", "Tom", "Max", "Sam", "Jack", "Bob", "Joe", "Leo", "Dan", "Jim", "Ted", "John", "Mark", "Paul", "Billy"];

    /// <summary>Templates; {name} and {noun} (girl / boy) are filled in.</summary>
    public static IReadOnlyList<string> Templates { get; } =
    [
        .. new[] { "play", "read", "dance", "run", "sing", "draw", "swim", "jump" }
            .Select(v => "{name} was a little {noun} who loved to " + v + ". Every day,"),
        "{name} was a happy {noun} who had a big red ball. Every day,",
        "There once was a little {noun} called {name}. Every day,",
    ];

    /// <summary>The task definition.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Key = "stories-pronoun",
        Description = "pronoun agreement: \"Lily was a little girl who loved to dance. Every day,\" → she (corrupt: a boy → he); stories260K",
        ModelHint = "stories260K: a llama2.c checkpoint with its tokenizer beside it (e.g. ../shared/models/stories260K/stories260K.bin)",
        Dataset = loaded => loaded.Tokenizer is { } tokenizer ? Dataset(tokenizer) : Dataset(),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
    };

    /// <summary>Every template × name pair × direction (girl clean / boy clean): 320 prompt pairs, in a fixed order.</summary>
    public static DatasetDocument Dataset() => Dataset("she", "he");

    /// <summary>
    /// As <see cref="Dataset()"/>, with the answers written so that each is the one token <paramref name="tokenizer"/> puts
    /// after the prompt (<c>"she"</c> or <c>" she"</c>).
    /// </summary>
    /// <exception cref="AutoCircuitException">A pronoun is not one token after the prompt in this vocabulary.</exception>
    public static DatasetDocument Dataset(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var probe = Fill(Templates[0], Girls[0], "girl");
        return Dataset(AnswerText(tokenizer, probe, "she"), AnswerText(tokenizer, probe, "he"));
    }

    /// <summary>How <paramref name="word"/> is written as an answer after <paramref name="prompt"/>: the text whose one token is
    /// the token that follows the prompt in <c>prompt + " " + word</c>.</summary>
    private static string AnswerText(ITokenizer tokenizer, string prompt, string word)
    {
        var context = tokenizer.Encode(prompt);
        var full = tokenizer.Encode(prompt + " " + word);
        if (full.Count == context.Count + 1 && full.Take(context.Count).SequenceEqual(context))
        {
            foreach (var candidate in new[] { " " + word, word })
            {
                var ids = tokenizer.Encode(candidate);
                if (ids.Count == 1 && ids[0] == full[^1])
                {
                    return candidate;
                }
            }
        }

        throw new AutoCircuitException(
            $"stories-pronoun cannot be expressed with {tokenizer.Name}: \"{word}\" is not one token after \"{prompt}\" " +
            $"({Vocabulary.Describe(tokenizer, prompt + " " + word)}).");
    }

    private static DatasetDocument Dataset(string she, string he)
    {
        var records = new List<PromptRecord>();
        foreach (var template in Templates)
        {
            for (var i = 0; i < Girls.Count; i++)
            {
                var girl = Fill(template, Girls[i], "girl");
                var boy = Fill(template, Boys[i], "boy");
                records.Add(Pair(records.Count, girl, boy, she, he));
                records.Add(Pair(records.Count, boy, girl, he, she));
            }
        }

        return DatasetDocument.FromPrompts($"stories pronoun task (generated, {records.Count} prompts)", records);
    }

    private static string Fill(string template, string name, string noun) =>
        template.Replace("{name}", name, StringComparison.Ordinal).Replace("{noun}", noun, StringComparison.Ordinal);

    private static PromptRecord Pair(int index, string clean, string corrupt, string answer, string wrong) =>
        new(index, PromptInput.FromText(clean), PromptInput.FromText(corrupt), new AnswerList(null, [answer]), new AnswerList(null, [wrong]));
}
