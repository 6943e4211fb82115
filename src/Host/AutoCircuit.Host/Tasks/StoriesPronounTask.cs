using AutoCircuit.Host.Data;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// Pronoun agreement for the small story models (stories260K): "Lily was a little girl who loved to
/// dance. Every day," → " she"; the corrupt prompt is the same sentence about a boy ("Tim was a little
/// boy …"), whose answer " he" is the clean prompt's wrong answer (and the other way round for prompts
/// about boys). The 260K-parameter model is far too small for IOI, but it tracks a character's gender:
/// on these prompts the right pronoun is its top-1 next token (see the README for the measured
/// accuracy). Answers are written without the leading space: the llama2.c tokenizer adds it.
/// </summary>
public static class StoriesPronounTask
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
        Dataset = _ => Dataset(),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
    };

    /// <summary>Every template × name pair × direction (girl clean / boy clean): 320 prompt pairs, in a fixed order.</summary>
    public static DatasetDocument Dataset()
    {
        var records = new List<PromptRecord>();
        foreach (var template in Templates)
        {
            for (var i = 0; i < Girls.Count; i++)
            {
                var girl = Fill(template, Girls[i], "girl");
                var boy = Fill(template, Boys[i], "boy");
                records.Add(Pair(records.Count, girl, boy, "she", "he"));
                records.Add(Pair(records.Count, boy, girl, "he", "she"));
            }
        }

        return DatasetDocument.FromPrompts($"stories pronoun task (generated, {records.Count} prompts)", records);
    }

    private static string Fill(string template, string name, string noun) =>
        template.Replace("{name}", name, StringComparison.Ordinal).Replace("{noun}", noun, StringComparison.Ordinal);

    private static PromptRecord Pair(int index, string clean, string corrupt, string answer, string wrong) =>
        new(index, PromptInput.FromText(clean), PromptInput.FromText(corrupt), new AnswerList(null, [answer]), new AnswerList(null, [wrong]));
}
