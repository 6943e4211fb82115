using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Tasks;

/// <summary>
/// Greater-than (Hanna et al. 2023), prompts of our own: "The war lasted from the year 1732 to the year 17"
/// → any two-digit year after 32. As in auto-circuit's files, the answers are the two-digit strings above
/// the start year's (<c>"33"</c> … <c>"99"</c>) and the wrong answers the others (<c>"00"</c> … <c>"32"</c>),
/// and the corrupt prompt starts in year XX01 ("from the year 1701"), after which every year counts as
/// later. Years are kept only where the tokenizer splits " XXYY" into " XX" + "YY" (GPT-2 does for most),
/// so that the prompt ends on the century token and the answer is one token.
/// </summary>
internal static class GreaterThanTask
{
    /// <summary>Candidate events (those that are one token after a space are used).</summary>
    public static IReadOnlyList<string> Nouns { get; } =
    [
        "war", "conflict", "expedition", "dynasty", "treaty", "reign", "voyage", "siege", "campaign", "occupation",
        "rebellion", "famine", "drought", "festival", "journey", "crisis", "truce", "alliance", "strike", "trial",
        "project", "program", "study", "tour", "revolt", "plague", "boom", "empire", "mission", "partnership",
    ];

    /// <summary>The task definition.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Key = "greater-than",
        Description = "greater-than: \"The war lasted from the year 1732 to the year 17\" → a two-digit year above 32 " +
                      "(corrupt: from 1701); GPT-2 small",
        ModelHint = IoiTask.Definition.ModelHint,
        Dataset = loaded => Generate(
            loaded.Tokenizer ?? throw new AutoCircuitException(
                $"--task greater-than: --model {loaded.Name} has no tokenizer (tokenizer.json, or vocab.json + merges.txt, in the model folder)."),
            512,
            seed: 0),
        KnownCircuit = loaded => KnownCircuits.LiteratureCircuits.ForGpt2Small(loaded, KnownCircuits.LiteratureCircuits.GreaterThan),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
    };

    /// <summary>Generates <paramref name="count"/> prompt pairs (seeded, CPython's Mersenne Twister).</summary>
    /// <exception cref="AutoCircuitException">The tokenizer splits no year as " XX" + "YY", or a noun list without single tokens.</exception>
    public static DatasetDocument Generate(ITokenizer tokenizer, int count, long seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var nouns = Nouns.Where(n => tokenizer.Encode(" " + n).Count == 1).ToList();
        var years = new List<(int Century, int Year)>();
        for (var century = 11; century <= 17; century++)
        {
            if (!SplitsAsCenturyAndYear(tokenizer, century, 1))
            {
                continue; // the corrupt year XX01 must split too
            }

            // YY from 02 to 98: an answer above and a wrong answer below always exist.
            years.AddRange(Enumerable.Range(2, 97).Where(y => SplitsAsCenturyAndYear(tokenizer, century, y)).Select(y => (century, y)));
        }

        if (years.Count == 0)
        {
            throw new AutoCircuitException(
                $"greater-than cannot be expressed with {tokenizer.Name}: the prompts end on the century (\" 17\") and the answer is the " +
                "two-digit year (\"32\") as one token, but this vocabulary splits no year 1102..1798 as \" XX\" + \"YY\" (e.g. " +
                $"{Vocabulary.Describe(tokenizer, " 1732")}; {Vocabulary.Describe(tokenizer, "32")}); tokenizers that split numbers into " +
                "single digits or groups of three (Llama-3, Qwen, Gemma) cannot state it.");
        }

        if (nouns.Count == 0)
        {
            throw new AutoCircuitException(
                $"greater-than cannot be expressed with {tokenizer.Name}: none of the {Nouns.Count} event nouns is one token after a space " +
                $"(e.g. {Vocabulary.Examples(tokenizer, Nouns)}).");
        }

        var rng = new PythonRandom(seed);
        var records = new List<PromptRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var noun = nouns[(int)rng.RandBelow((uint)nouns.Count)];
            var (century, year) = years[(int)rng.RandBelow((uint)years.Count)];
            string Prompt(int start) => string.Create(
                CultureInfo.InvariantCulture, $"The {noun} lasted from the year {century}{start:00} to the year {century}");
            records.Add(new PromptRecord(
                i,
                PromptInput.FromText(Prompt(year)),
                PromptInput.FromText(Prompt(1)),
                new AnswerList(null, Enumerable.Range(year + 1, 99 - year).Select(TwoDigits).ToArray()),
                new AnswerList(null, Enumerable.Range(0, year + 1).Select(TwoDigits).ToArray())));
        }

        return DatasetDocument.FromPrompts($"greater-than (generated: {count} prompts, seed {seed})", records);
    }

    private static string TwoDigits(int y) => y.ToString("00", CultureInfo.InvariantCulture);

    private static bool SplitsAsCenturyAndYear(ITokenizer tokenizer, int century, int year)
    {
        var whole = tokenizer.Encode(string.Create(CultureInfo.InvariantCulture, $" {century}{year:00}"));
        var head = tokenizer.Encode(string.Create(CultureInfo.InvariantCulture, $" {century}"));
        var tail = tokenizer.Encode(TwoDigits(year));
        return whole.Count == 2 && head.Count == 1 && tail.Count == 1 && whole[0] == head[0] && whole[1] == tail[0];
    }
}
