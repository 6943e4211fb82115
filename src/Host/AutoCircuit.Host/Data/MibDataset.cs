using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using AutoCircuit.Models.Tokenizers;

namespace AutoCircuit.Host.Data;

/// <summary>The tasks of MIB's circuit-localization track (the Hugging Face datasets <c>mib-bench/…</c>).</summary>
public enum MibTask
{
    /// <summary><c>mib-bench/ioi</c>: indirect object identification.</summary>
    Ioi,

    /// <summary><c>mib-bench/copycolors_mcqa</c>: multiple-choice colour questions.</summary>
    Mcqa,

    /// <summary><c>mib-bench/arithmetic_addition</c>: the rows whose operator is <c>+</c>.</summary>
    ArithmeticAddition,

    /// <summary><c>mib-bench/arithmetic_subtraction</c>: the rows whose operator is <c>-</c>.</summary>
    ArithmeticSubtraction,

    /// <summary><c>mib-bench/arc_easy</c>: ARC (easy) multiple choice.</summary>
    ArcEasy,

    /// <summary><c>mib-bench/arc_challenge</c>: ARC (challenge) multiple choice.</summary>
    ArcChallenge,
}

/// <summary>A MIB dataset file read into prompt pairs.</summary>
/// <param name="Document">The kept rows as prompt pairs (text prompts, answers as token ids).</param>
/// <param name="Rows">Rows in the file.</param>
/// <param name="Dropped">Rows MIB's data loader leaves out (answers of different token lengths, no counterfactual,
/// another operator), which are left out here too.</param>
/// <param name="Counterfactual">The counterfactual column the corrupted prompts came from.</param>
/// <param name="Task">The task whose rows these are.</param>
public sealed record MibDatasetFile(DatasetDocument Document, int Rows, int Dropped, string Counterfactual, MibTask Task);

/// <summary>
/// Reads the rows of MIB's circuit-track datasets from local files, as the benchmark's <c>HFEAPDataset</c>
/// (<c>MIB_circuit_track/dataset.py</c>) turns them into a clean prompt, a corrupted prompt (the <c>prompt</c> of a
/// counterfactual column) and the answer / wrong-answer token ids:
/// <list type="bullet">
/// <item>IOI: <c>{"prompt", "metadata": {"indirect_object", "subject", "random_c", …}, "&lt;cf&gt;": {"prompt", …}}</c>;
/// answer the first token of <c>" " + indirect_object</c>, wrong answer that of <c>" " + subject</c> (for every
/// counterfactual); rows whose <c>" " + indirect_object</c>, <c>" " + subject</c> and <c>" " + random_c</c> have
/// different token counts are dropped. Default counterfactual <c>s2_io_flip_counterfactual</c>.</item>
/// <item>MCQA and ARC: <c>{"prompt", "choices": {"label": [...]}, "answerKey": i, "&lt;cf&gt;": {"prompt", "choices",
/// "answerKey"}}</c>; answer the first token of <c>choices.label[answerKey]</c>, wrong answer that of the
/// counterfactual's <c>choices.label[answerKey]</c>, both without a leading space; rows where the two have different
/// token counts are dropped. Default counterfactual <c>symbol_counterfactual</c>.</item>
/// <item>Arithmetic: <c>{"prompt", "label", "operator", "random_counterfactual": {"prompt", "label"}}</c>; answer the
/// token of <c>str(label)</c>, wrong answer that of the counterfactual's; rows of the other operator, without a
/// counterfactual prompt or whose labels are not one token each are dropped. Counterfactual
/// <c>random_counterfactual</c>.</item>
/// </list>
/// Files: JSON lines (one row per line, as the hub's <c>.jsonl</c> files and <c>Dataset.to_json</c> write them) or a
/// JSON array of rows. Parquet is not read: export it with <c>datasets</c>' <c>to_json</c>.
/// </summary>
public static class MibDataset
{
    /// <summary>The task names accepted by <c>--mib-task</c>, as the submission folders spell them.</summary>
    public const string TaskNames = "ioi, mcqa, arithmetic-addition, arithmetic-subtraction, arc-easy, arc-challenge";

    /// <summary>Parses a task name (<c>_</c> and <c>-</c> alike, as MIB's scripts and folders use both).</summary>
    /// <exception cref="DatasetException">Not a MIB task.</exception>
    public static MibTask ParseTask(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant().Replace('_', '-') switch
        {
            "ioi" => MibTask.Ioi,
            "mcqa" or "copycolors-mcqa" => MibTask.Mcqa,
            "arithmetic-addition" => MibTask.ArithmeticAddition,
            "arithmetic-subtraction" => MibTask.ArithmeticSubtraction,
            "arc-easy" => MibTask.ArcEasy,
            "arc-challenge" => MibTask.ArcChallenge,
            _ => throw new DatasetException($"--mib-task {name}: expected one of {TaskNames}."),
        };
    }

    /// <summary>The task's name in a submission folder (<c>&lt;task&gt;_&lt;model&gt;</c>), e.g. <c>arc-easy</c>.</summary>
    public static string TaskName(MibTask task) => task switch
    {
        MibTask.Ioi => "ioi",
        MibTask.Mcqa => "mcqa",
        MibTask.ArithmeticAddition => "arithmetic-addition",
        MibTask.ArithmeticSubtraction => "arithmetic-subtraction",
        MibTask.ArcEasy => "arc-easy",
        MibTask.ArcChallenge => "arc-challenge",
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
    };

    /// <summary>The counterfactual column MIB's loader uses when none is named.</summary>
    public static string DefaultCounterfactual(MibTask task) => task switch
    {
        MibTask.Ioi => "s2_io_flip_counterfactual",
        MibTask.Mcqa or MibTask.ArcEasy or MibTask.ArcChallenge => "symbol_counterfactual",
        _ => "random_counterfactual",
    };

    /// <summary>Reads and converts a MIB dataset file.</summary>
    /// <param name="path">A <c>.jsonl</c> file or a JSON array of rows.</param>
    /// <param name="task">The task whose row format the file has.</param>
    /// <param name="counterfactual">The counterfactual column; <c>null</c> for <see cref="DefaultCounterfactual"/>.</param>
    /// <param name="tokenizer">The model's tokenizer (answers are token ids; prompts stay text).</param>
    /// <exception cref="DatasetException">Unreadable, too large, not JSON (file and line), a row without a field the task
    /// needs or with a field of the wrong type (file, line and field), or no row left.</exception>
    public static MibDatasetFile Load(string path, MibTask task, string? counterfactual, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(DatasetDocument.ReadLimited(path), path, task, counterfactual, tokenizer);
    }

    /// <summary>Converts the bytes of a MIB dataset file; <paramref name="source"/> names it in messages.</summary>
    public static MibDatasetFile Parse(ReadOnlySpan<byte> bytes, string source, MibTask task, string? counterfactual, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (!Utf8.IsValid(bytes))
        {
            throw new DatasetException($"{source}: not valid UTF-8 (a MIB dataset is UTF-8 JSON lines).");
        }

        var cf = string.IsNullOrWhiteSpace(counterfactual) ? DefaultCounterfactual(task) : counterfactual.Trim();
        var prompts = new List<PromptRecord>();
        var rows = 0;
        var dropped = 0;
        foreach (var (line, row) in Rows(bytes.ToArray(), source))
        {
            using (row)
            {
                rows++;
                var at = new Place(source, line);
                var pair = Convert(at, row.RootElement, task, cf, tokenizer);
                if (pair is null)
                {
                    dropped++;
                    continue;
                }

                var (clean, corrupt, answer, wrong) = pair.Value;
                prompts.Add(new PromptRecord(
                    prompts.Count, PromptInput.FromText(clean), PromptInput.FromText(corrupt), new AnswerList([answer], null), new AnswerList([wrong], null)));
            }
        }

        if (rows == 0)
        {
            throw new DatasetException($"{source}: no rows (a MIB dataset is JSON lines, one row object per line, or a JSON array of rows).");
        }

        if (prompts.Count == 0)
        {
            throw new DatasetException(
                $"{source}: all {rows} rows are left out as MIB's loader leaves them out ({DropRule(task)}) with this tokenizer ({tokenizer.Name}).");
        }

        return new MibDatasetFile(DatasetDocument.FromPrompts(source, prompts), rows, dropped, cf, task);
    }

    /// <summary>Why MIB's loader drops a row of <paramref name="task"/>.</summary>
    public static string DropRule(MibTask task) => task switch
    {
        MibTask.Ioi => "the indirect object, subject and random_c names must have the same token count",
        MibTask.Mcqa or MibTask.ArcEasy or MibTask.ArcChallenge =>
            "the answer label and the counterfactual's answer label must have the same token count",
        _ => "the operator must be the task's, the counterfactual prompt present and both labels one token",
    };

    private readonly record struct Place(string Source, int Line)
    {
        public DatasetException Error(string field, string message) => new($"{Source}:{Line}: {field}: {message}");
    }

    private static (string Clean, string Corrupt, long Answer, long Wrong)? Convert(
        Place at, JsonElement row, MibTask task, string cf, ITokenizer tokenizer)
    {
        if (row.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{at.Source}:{at.Line}: a row must be an object; found {Kind(row)}.");
        }

        var prompt = String(at, row, "prompt", "prompt");
        switch (task)
        {
            case MibTask.Ioi:
                {
                    var meta = Object(at, row, "metadata", "metadata");
                    var io = " " + String(at, meta, "indirect_object", "metadata.indirect_object");
                    var s = " " + String(at, meta, "subject", "metadata.subject");
                    var c = " " + String(at, meta, "random_c", "metadata.random_c");
                    var ioIds = tokenizer.Encode(io);
                    var sIds = tokenizer.Encode(s);
                    if (ioIds.Count != sIds.Count || ioIds.Count != tokenizer.Encode(c).Count)
                    {
                        return null;
                    }

                    var corrupt = String(at, Object(at, row, cf, cf), "prompt", $"{cf}.prompt");
                    return (prompt, corrupt, First(at, ioIds, "metadata.indirect_object"), First(at, sIds, "metadata.subject"));
                }

            case MibTask.Mcqa or MibTask.ArcEasy or MibTask.ArcChallenge:
                {
                    var answer = tokenizer.Encode(Label(at, row, string.Empty));
                    var counter = Object(at, row, cf, cf);
                    var wrong = tokenizer.Encode(Label(at, counter, cf + "."));
                    if (answer.Count != wrong.Count)
                    {
                        return null;
                    }

                    var corrupt = String(at, counter, "prompt", $"{cf}.prompt");
                    return (prompt, corrupt, First(at, answer, "choices.label[answerKey]"), First(at, wrong, $"{cf}.choices.label[answerKey]"));
                }

            default:
                {
                    var op = String(at, row, "operator", "operator");
                    var label = tokenizer.Encode(PythonStr(at, row, "label", "label"));
                    if (op != (task == MibTask.ArithmeticSubtraction ? "-" : "+") || label.Count != 1
                        || !row.TryGetProperty(cf, out var counter) || counter.ValueKind == JsonValueKind.Null)
                    {
                        return null;
                    }

                    if (counter.ValueKind != JsonValueKind.Object)
                    {
                        throw at.Error(cf, $"must be an object with \"prompt\" and \"label\"; found {Kind(counter)}.");
                    }

                    if (!counter.TryGetProperty("prompt", out var p) || p.ValueKind == JsonValueKind.Null)
                    {
                        return null;
                    }

                    var wrong = tokenizer.Encode(PythonStr(at, counter, "label", $"{cf}.label"));
                    if (wrong.Count != 1)
                    {
                        return null;
                    }

                    return (prompt, String(at, counter, "prompt", $"{cf}.prompt"), label[0], wrong[0]);
                }
        }
    }

    /// <summary><c>choices.label[answerKey]</c> of a row or a counterfactual (a string, or a number as Python's
    /// <c>str</c> writes it).</summary>
    private static string Label(Place at, JsonElement obj, string prefix)
    {
        var choices = Object(at, obj, "choices", prefix + "choices");
        if (!choices.TryGetProperty("label", out var labels) || labels.ValueKind != JsonValueKind.Array)
        {
            throw at.Error(prefix + "choices.label", labels.ValueKind == JsonValueKind.Undefined
                ? "missing (the choices' labels, e.g. [\"A\", \"B\", \"C\", \"D\"])."
                : $"must be an array of labels; found {Kind(labels)}.");
        }

        if (!obj.TryGetProperty("answerKey", out var key))
        {
            throw at.Error(prefix + "answerKey", "missing (the index of the right label in choices.label).");
        }

        if (key.ValueKind != JsonValueKind.Number || !key.TryGetInt32(out var i))
        {
            throw at.Error(prefix + "answerKey", $"must be an integer index into choices.label; found {Kind(key)}.");
        }

        var n = labels.GetArrayLength();
        if (i < 0 || i >= n)
        {
            throw at.Error(prefix + "answerKey", $"{i} is outside choices.label (which has {n} labels).");
        }

        return PythonStr(at, labels[i], $"{prefix}choices.label[{i}]");
    }

    private static long First(Place at, IReadOnlyList<int> ids, string field) =>
        ids.Count > 0 ? ids[0] : throw at.Error(field, "tokenizes to no tokens.");

    private static string String(Place at, JsonElement obj, string name, string field)
    {
        if (!obj.TryGetProperty(name, out var el))
        {
            throw at.Error(field, "missing.");
        }

        if (el.ValueKind != JsonValueKind.String)
        {
            throw at.Error(field, $"must be a string; found {Kind(el)}.");
        }

        return Text(at, el, field);
    }

    private static JsonElement Object(Place at, JsonElement obj, string name, string field)
    {
        if (!obj.TryGetProperty(name, out var el))
        {
            var columns = obj.EnumerateObject().Select(p => p.Name).Where(n => n.EndsWith("_counterfactual", StringComparison.Ordinal)).ToList();
            var hint = name.EndsWith("_counterfactual", StringComparison.Ordinal) && columns.Count > 0
                ? $" (this row's counterfactual columns: {string.Join(", ", columns)})"
                : string.Empty;
            throw at.Error(field, $"missing{hint}.");
        }

        if (el.ValueKind != JsonValueKind.Object)
        {
            throw at.Error(field, $"must be an object; found {Kind(el)}.");
        }

        return el;
    }

    private static string PythonStr(Place at, JsonElement obj, string name, string field) =>
        obj.TryGetProperty(name, out var el) ? PythonStr(at, el, field) : throw at.Error(field, "missing.");

    /// <summary>A label as Python's <c>str</c> gives it: strings as they are, integers in decimal.</summary>
    private static string PythonStr(Place at, JsonElement el, string field) => el.ValueKind switch
    {
        JsonValueKind.String => Text(at, el, field),
        JsonValueKind.Number when el.TryGetInt64(out var v) => v.ToString(CultureInfo.InvariantCulture),
        _ => throw at.Error(field, $"must be a string or an integer; found {Kind(el)}."),
    };

    private static string Text(Place at, JsonElement el, string field)
    {
        try
        {
            return el.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw at.Error(field, $"the string is not valid Unicode ({e.Message}).");
        }
    }

    /// <summary>The rows of the file with their 1-based line numbers: a JSON array's elements, or one per non-blank line.</summary>
    private static IEnumerable<(int Line, JsonDocument Row)> Rows(byte[] bytes, string source)
    {
        var start = 0;
        while (start < bytes.Length && bytes[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
        {
            start++;
        }

        return start < bytes.Length && bytes[start] == (byte)'[' ? ArrayRows(bytes, source) : LineRows(bytes, source);
    }

    private static IEnumerable<(int Line, JsonDocument Row)> LineRows(byte[] bytes, string source)
    {
        var line = 0;
        var pos = 0;
        if (bytes.AsSpan().StartsWith("\uFEFF"u8))
        {
            pos = 3;
        }

        while (pos < bytes.Length)
        {
            line++;
            var end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0)
            {
                end = bytes.Length;
            }

            var text = bytes.AsMemory(pos, end - pos);
            pos = end + 1;
            if (text.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw new DatasetException(
                    $"{source}:{line}:{(e.BytePositionInLine ?? 0) + 1}: invalid JSON (a MIB dataset has one row object per line): {FirstSentence(e.Message)}", e);
            }

            yield return (line, doc);
        }
    }

    private static IEnumerable<(int Line, JsonDocument Row)> ArrayRows(byte[] bytes, string source)
    {
        var results = new List<(int, JsonDocument)>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            reader.Read(); // [
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var line = 1 + bytes.AsSpan(0, (int)reader.TokenStartIndex).Count((byte)'\n');
                results.Add((line, JsonDocument.ParseValue(ref reader)));
            }

            if (reader.Read())
            {
                throw new DatasetException($"{source}: text after the array of rows.");
            }
        }
        catch (JsonException e)
        {
            foreach (var (_, d) in results)
            {
                d.Dispose();
            }

            throw new DatasetException(
                $"{source}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: invalid JSON: {FirstSentence(e.Message)}", e);
        }

        return results;
    }

    private static string Kind(JsonElement el) => DatasetDocument.Kind(el);

    private static string FirstSentence(string message) => DatasetDocument.FirstSentence(message);
}
