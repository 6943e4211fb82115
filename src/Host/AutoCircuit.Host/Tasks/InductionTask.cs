using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Toy;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// The default task: in-context copying on the embedded toy model (<see cref="InductionData"/>), as
/// token ids. Clean: <c>BOS … A B … A</c>, answer B; corrupt: B replaced by C, wrong answer C. The
/// prompts are generated with their own seed, disjoint from the training stream and from the held-out
/// prompts <c>train-toy</c> measured. On a language model with a tokenizer the same prompts are made of words
/// of its own vocabulary (<see cref="TextDataset"/>).
/// </summary>
internal static class InductionTask
{
    /// <summary>Seed of the task's prompts.</summary>
    public const long Seed = 7;

    /// <summary>Prompts generated (train and test take 128 each by default).</summary>
    public const int Prompts = 512;

    /// <summary>The task definition.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Key = "induction",
        Description = "in-context copying (BOS … A B … A → B; corrupt: B → C) on the embedded toy model (known circuit: " +
                      "its induction heads' value path), or with words of a language model's own vocabulary",
        DefaultModel = ToyModel.Name,
        ModelHint = $"the embedded {ToyModel.Name} model (or a model trained by train-toy: a {ToyModel.FileName} file)",
        Dataset = loaded => loaded.Tokenizer is { } tokenizer ? TextDataset(tokenizer) : Dataset(),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
        // The circuit comes with a toy-induction model (measured by train-toy); other models have none.
        KnownCircuit = loaded => loaded.ToyInfo?.Circuit.Select(name => new CircuitEdge(name)).ToList(),
    };

    /// <summary>The dataset: <see cref="Prompts"/> prompt pairs from <see cref="Seed"/>.</summary>
    public static DatasetDocument Dataset(int prompts = Prompts, long seed = Seed)
    {
        using var batch = InductionData.Generate(prompts, seed);
        var clean = batch.Clean.data<long>().ToArray();
        var corrupt = batch.Corrupt.data<long>().ToArray();
        var answer = batch.Answer.data<long>().ToArray();
        var wrong = batch.Wrong.data<long>().ToArray();
        var t = InductionData.SeqLen;
        var records = new List<PromptRecord>(prompts);
        for (var i = 0; i < prompts; i++)
        {
            records.Add(new PromptRecord(
                i,
                PromptInput.FromNumbers(clean.AsSpan(i * t, t).ToArray().Select(v => (double)v).ToArray(), [t]),
                PromptInput.FromNumbers(corrupt.AsSpan(i * t, t).ToArray().Select(v => (double)v).ToArray(), [t]),
                new AnswerList([answer[i]], null),
                new AnswerList([wrong[i]], null)));
        }

        string[] labels = ["BOS", .. Enumerable.Range(1, t - 2).Select(p => $"x{p}"), "repeat"];
        return DatasetDocument.FromPrompts($"induction task (generated, {prompts} prompts, seed {seed})", records, labels);
    }

    /// <summary>Candidate words of the text prompts (those that are one token after a space are used).</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        "apple", "river", "chair", "window", "garden", "horse", "bottle", "table", "cloud", "stone", "paper", "bread",
        "music", "light", "train", "doctor", "forest", "island", "money", "letter", "summer", "winter", "mountain", "ocean",
        "teacher", "flower", "kitchen", "pencil", "camera", "market", "bridge", "castle", "dragon", "engine", "finger", "guitar",
        "hammer", "jacket", "ladder", "mirror", "needle", "orange", "pillow", "rabbit", "silver", "tiger", "violin", "wallet",
    ];

    /// <summary>
    /// The induction prompts in words of <paramref name="tokenizer"/>'s vocabulary: <c>" w1 w2 … w14 A"</c> with 14 distinct
    /// words (each one token after a space), A one of w1…w13 and the answer the word after its first occurrence (B); the
    /// corrupt prompt has B replaced by a word in no position (C), the wrong answer. Every prompt has the same number of
    /// tokens (15; BOS is the encoder's). Seeded with CPython's Mersenne Twister.
    /// </summary>
    /// <exception cref="AutoCircuitException">Fewer than 15 of <see cref="Words"/> are one token after a space in the vocabulary.</exception>
    public static DatasetDocument TextDataset(ITokenizer tokenizer, int prompts = Prompts, long seed = Seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        const int body = InductionData.SeqLen - 2;
        var (words, split) = Vocabulary.SingleTokensAfterSpace(tokenizer, Words);
        if (words.Count < body + 1)
        {
            throw new AutoCircuitException(
                $"induction cannot be expressed with {tokenizer.Name}: it needs {body + 1} words that are one token after a space, and " +
                $"{words.Count} of {Words.Count} are (e.g. {Vocabulary.Examples(tokenizer, split)}).");
        }

        var rng = new PythonRandom(seed);
        var records = new List<PromptRecord>(prompts);
        for (var i = 0; i < prompts; i++)
        {
            var pool = words.ToList();
            var drawn = new List<string>(body + 1);
            for (var k = 0; k <= body; k++)
            {
                var at = (int)rng.RandBelow((uint)pool.Count);
                drawn.Add(pool[at]);
                pool.RemoveAt(at);
            }

            var seq = drawn.Take(body).ToList();
            var c = drawn[body];
            var j = (int)rng.RandBelow(body - 1);
            var b = seq[j + 1];
            string Text(IEnumerable<string> ws) => string.Concat(ws.Select(w => " " + w));
            var clean = Text(seq.Append(seq[j]));
            var corrupt = Text(seq.Select((w, p) => p == j + 1 ? c : w).Append(seq[j]));
            foreach (var text in new[] { clean, corrupt })
            {
                if (tokenizer.Encode(text).Count != body + 1)
                {
                    throw new AutoCircuitException(
                        $"induction cannot be expressed with {tokenizer.Name}: {Vocabulary.Describe(tokenizer, text)} is not one token per word.");
                }
            }

            records.Add(new PromptRecord(
                i, PromptInput.FromText(clean), PromptInput.FromText(corrupt), new AnswerList(null, [" " + b]), new AnswerList(null, [" " + c])));
        }

        return DatasetDocument.FromPrompts($"induction task (generated from words, {prompts} prompts, seed {seed})", records);
    }
}
