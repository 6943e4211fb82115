using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Tasks;

/// <summary>Which name orders an IOI dataset uses.</summary>
internal enum IoiPattern
{
    /// <summary>Half ABBA, half BABA (alternating).</summary>
    Mixed,

    /// <summary>"A and B …, B gave … to" → A.</summary>
    Abba,

    /// <summary>"B and A …, B gave … to" → A.</summary>
    Baba,
}

/// <summary>
/// Indirect object identification (Wang et al. 2022) prompts of our own: templates in which two names
/// appear, one of them again as the subject of a second clause that ends with "to"; the answer is the
/// other name (the indirect object, IO), the wrong answer the repeated subject (S). ABBA puts the IO
/// first ("A and B went …, B gave … to" → A), BABA second. The corrupt prompt is the one auto-circuit's
/// IOI files use ("ABB→XYZ, BAB→XYZ"): the three name occurrences replaced, in order, by three other
/// names, so the prompt keeps its form but says nothing about A. Answers are single tokens with a
/// leading space (" Mary") in the model's own tokenizer: names, places and objects that are not one token
/// after a space in its vocabulary are left out, so every prompt of a template has the same number of
/// tokens; a vocabulary with too few of them is refused, naming the words and the tokenizer.
/// </summary>
internal static class IoiTask
{
    /// <summary>Templates: [1] and [2] are the first clause's names, [S] the subject (B) of the second clause.</summary>
    public static IReadOnlyList<string> Templates { get; } =
    [
        "Then, [1] and [2] went to the [PLACE]. [S] gave a [OBJECT] to",
        "When [1] and [2] went to the [PLACE], [S] gave a [OBJECT] to",
        "After [1] and [2] arrived at the [PLACE], [S] handed a [OBJECT] to",
        "While [1] and [2] were walking to the [PLACE], [S] passed a [OBJECT] to",
        "Later, [1] and [2] met at the [PLACE]. [S] offered a [OBJECT] to",
        "Yesterday [1] and [2] visited the [PLACE], and [S] brought a [OBJECT] to",
        "[1] and [2] spent the day at the [PLACE]. Then [S] gave a [OBJECT] to",
        "At the [PLACE], [1] and [2] found a [OBJECT]. [S] gave it to",
    ];

    /// <summary>Candidate names (those that are one token after a space are used).</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "Mary", "John", "Alice", "Bob", "James", "Sarah", "David", "Emma", "Michael", "Laura", "Daniel", "Anna",
        "Paul", "Kate", "Mark", "Lisa", "Peter", "Jane", "Tom", "Emily", "Chris", "Rachel", "Kevin", "Amy",
        "Steve", "Helen", "Brian", "Julia", "Eric", "Linda", "Ryan", "Susan", "Adam", "Karen", "Jack", "Nancy",
        "Sam", "Grace", "Ben", "Claire", "Alex", "Rose", "Matt", "Anne", "Luke", "Diana", "Joe", "Ruth",
    ];

    /// <summary>Candidate places.</summary>
    public static IReadOnlyList<string> Places { get; } =
        ["store", "park", "school", "office", "restaurant", "station", "market", "library", "beach", "hospital", "garden", "museum"];

    /// <summary>Candidate objects.</summary>
    public static IReadOnlyList<string> Objects { get; } =
        ["drink", "book", "gift", "ball", "letter", "bag", "ticket", "snack", "flower", "key", "phone", "card"];

    /// <summary>The component-circuit task: every template, ABBA and BABA mixed.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Key = "ioi",
        Description = "indirect object identification: 8 templates, ABBA/BABA mixed, corrupt = the names replaced (ABB→XYZ); GPT-2 small",
        ModelHint = "GPT-2 small: a Hugging Face gpt2 folder (config.json, model.safetensors, vocab.json, merges.txt)",
        Dataset = loaded => Generate(RequireTokenizer(loaded, "ioi"), 512, IoiPattern.Mixed, template: null, seed: 0),
        KnownCircuit = loaded => KnownCircuits.LiteratureCircuits.ForGpt2Small(loaded, KnownCircuits.LiteratureCircuits.Ioi),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
    };

    /// <summary>The token-position task: one template, BABA, with <c>seq_labels</c> and <c>word_idxs</c>.</summary>
    public static TaskDefinition TokenDefinition { get; } = new()
    {
        Key = "ioi-token",
        Description = "indirect object identification, one template (BABA), one edge per token position; GPT-2 small",
        ModelHint = Definition.ModelHint,
        Dataset = loaded => Generate(RequireTokenizer(loaded, "ioi-token"), 256, IoiPattern.Baba, template: 0, seed: 0),
        BatchSize = 32,
        TrainSize = 128,
        TestSize = 128,
        TokenPositions = true,
    };

    /// <summary>
    /// Generates <paramref name="count"/> prompt pairs (seeded; CPython's Mersenne Twister, so the same seed gives the
    /// same prompts everywhere). With one <paramref name="template"/> every prompt has the same token count, and the
    /// dataset carries <c>seq_labels</c> and auto-circuit's <c>word_idxs</c> (IO, S1, S2, their neighbours, end,
    /// starts, punct; positions without BOS, as in its files).
    /// </summary>
    /// <exception cref="AutoCircuitException">Fewer than five names, or no place or object, are single tokens.</exception>
    public static DatasetDocument Generate(ITokenizer tokenizer, int count, IoiPattern pattern, int? template, long seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (template is int t && (t < 0 || t >= Templates.Count))
        {
            throw new AutoCircuitException($"IOI template {t}: there are {Templates.Count} (0..{Templates.Count - 1}).");
        }

        var (names, splitNames) = Vocabulary.SingleTokensAfterSpace(tokenizer, Names);
        var (places, splitPlaces) = Vocabulary.SingleTokensAfterSpace(tokenizer, Places);
        var (objects, splitObjects) = Vocabulary.SingleTokensAfterSpace(tokenizer, Objects);
        if (names.Count < 5 || places.Count == 0 || objects.Count == 0)
        {
            var missing = names.Count < 5 ? splitNames : places.Count == 0 ? splitPlaces : splitObjects;
            throw new AutoCircuitException(
                $"IOI cannot be expressed with {tokenizer.Name}: it needs at least 5 names, 1 place and 1 object that are one token after a " +
                $"space, and {names.Count} of {Names.Count} names, {places.Count} of {Places.Count} places and {objects.Count} of {Objects.Count} " +
                $"objects are (e.g. {Vocabulary.Examples(tokenizer, missing)}).");
        }

        var rng = new PythonRandom(seed);
        T Pick<T>(IReadOnlyList<T> items) => items[(int)rng.RandBelow((uint)items.Count)];
        var records = new List<PromptRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var form = Templates[template ?? (int)rng.RandBelow((uint)Templates.Count)];
            var abba = pattern switch
            {
                IoiPattern.Abba => true,
                IoiPattern.Baba => false,
                _ => i % 2 == 0,
            };
            var a = Pick(names);
            string b;
            do
            {
                b = Pick(names);
            }
            while (b == a);

            var others = names.Where(n => n != a && n != b).ToList();
            var x = Pick(others);
            others.Remove(x);
            var y = Pick(others);
            others.Remove(y);
            var z = Pick(others);
            var place = Pick(places);
            var obj = Pick(objects);
            var clean = Fill(form, abba ? [a, b, b] : [b, a, b], place, obj);
            var corrupt = Fill(form, [x, y, z], place, obj);
            records.Add(new PromptRecord(
                i,
                PromptInput.FromText(clean),
                PromptInput.FromText(corrupt),
                new AnswerList(null, [" " + a]),
                new AnswerList(null, [" " + b])));
        }

        if (template is int fixedTemplate)
        {
            // One template: every prompt must have the same number of tokens (token positions are compared across prompts).
            var lengths = records.SelectMany(r => new[] { r.Clean.Text!, r.Corrupt.Text! }).Select(x => (Text: x, Count: tokenizer.Encode(x).Count)).ToList();
            if (lengths.FirstOrDefault(l => l.Count != lengths[0].Count) is { Text: not null } odd)
            {
                throw new AutoCircuitException(
                    $"IOI template {fixedTemplate} cannot be expressed with {tokenizer.Name} at fixed token positions: \"{lengths[0].Text}\" is " +
                    $"{lengths[0].Count} tokens but \"{odd.Text}\" is {odd.Count}.");
            }
        }

        var source = $"IOI (generated: {count} prompts, {(template is int k ? $"template {k}" : "all templates")}, " +
                     $"{pattern.ToString().ToUpperInvariant()}, seed {seed})";
        if (template is null)
        {
            return DatasetDocument.FromPrompts(source, records);
        }

        var (labels, wordIdxs) = Positions(tokenizer, Templates[template.Value], pattern == IoiPattern.Abba, names[0], names[1], places[0], objects[0]);
        return DatasetDocument.FromPrompts(source, records, pattern == IoiPattern.Mixed ? null : labels, pattern == IoiPattern.Mixed ? null : wordIdxs);
    }

    /// <summary>Fills a template; <paramref name="names"/> are the three name occurrences in order ([1], [2], [S]).</summary>
    private static string Fill(string form, string[] names, string place, string obj) =>
        form.Replace("[1]", names[0], StringComparison.Ordinal)
            .Replace("[2]", names[1], StringComparison.Ordinal)
            .Replace("[S]", names[2], StringComparison.Ordinal)
            .Replace("[PLACE]", place, StringComparison.Ordinal)
            .Replace("[OBJECT]", obj, StringComparison.Ordinal);

    /// <summary>
    /// Position labels and auto-circuit's word positions of one template (tokens without BOS), from a probe prompt
    /// whose fillers are distinct marker names.
    /// </summary>
    private static (List<string> Labels, Dictionary<string, int> WordIdxs) Positions(
        ITokenizer tokenizer, string form, bool abba, string io, string s, string place, string obj)
    {
        var text = Fill(form, abba ? [io, s, s] : [s, io, s], place, obj);
        var ids = tokenizer.Encode(text);
        var pieces = ids.Select(tokenizer.TokenText).ToList();
        var labels = new List<string>(pieces.Count);
        int? ioPos = null, s1 = null, s2 = null, punct = null;
        for (var p = 0; p < pieces.Count; p++)
        {
            var piece = pieces[p].Trim();
            if (piece == io && ioPos is null)
            {
                ioPos = p;
                labels.Add("IO");
            }
            else if (piece == s)
            {
                if (s1 is null)
                {
                    s1 = p;
                    labels.Add("S1");
                }
                else
                {
                    s2 = p;
                    labels.Add("S2");
                }
            }
            else if (piece == place)
            {
                labels.Add("[PLACE]");
            }
            else if (piece == obj)
            {
                labels.Add("[OBJECT]");
            }
            else
            {
                labels.Add(pieces[p]);
                if ((piece == "," || piece == ".") && s2 is null)
                {
                    punct = p;
                }
            }
        }

        var idx = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["IO"] = ioPos!.Value,
            ["IO-1"] = ioPos.Value - 1,
            ["IO+1"] = ioPos.Value + 1,
            ["S1"] = s1!.Value,
            ["S1-1"] = s1.Value - 1,
            ["S1+1"] = s1.Value + 1,
            ["S2"] = s2!.Value,
            ["end"] = pieces.Count - 1,
            ["starts"] = 0,
        };
        if (punct is int q)
        {
            idx["punct"] = q;
        }

        return (labels, idx);
    }

    private static ITokenizer RequireTokenizer(LoadedModel loaded, string task) =>
        loaded.Tokenizer ?? throw new AutoCircuitException(
            $"--task {task}: --model {loaded.Name} has no tokenizer (tokenizer.json, or vocab.json + merges.txt, in the model folder).");
}
