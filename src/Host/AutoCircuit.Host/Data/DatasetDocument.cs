using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;

namespace AutoCircuit.Host.Data;

/// <summary>Answers of one prompt as written: token ids, or strings tokenized later.</summary>
/// <param name="Ids">Token ids / output indices, or <c>null</c>.</param>
/// <param name="Texts">Answer strings, or <c>null</c>.</param>
public sealed record AnswerList(long[]? Ids, string[]? Texts)
{
    /// <summary>Number of answers.</summary>
    public int Count => Ids?.Length ?? Texts!.Length;
}

/// <summary>One prompt pair of a dataset file.</summary>
/// <param name="Index">Position in the file's <c>prompts</c> array.</param>
public sealed record PromptRecord(int Index, PromptInput Clean, PromptInput Corrupt, AnswerList Answers, AnswerList WrongAnswers);

/// <summary>
/// A dataset in auto-circuit's JSON format:
/// <c>{"prompts": [{"clean", "corrupt", "answers", "wrong_answers"}, ...], "seq_labels"?: [...], "word_idxs"?: {...}}</c>.
/// </summary>
public sealed class DatasetDocument
{
    private DatasetDocument(string path, IReadOnlyList<PromptRecord> prompts, IReadOnlyList<string>? seqLabels, IReadOnlyDictionary<string, int> wordIdxs)
    {
        Path = path;
        Prompts = prompts;
        SeqLabels = seqLabels;
        WordIdxs = wordIdxs;
    }

    /// <summary>The file the dataset came from (or a description for generated data).</summary>
    public string Path { get; }

    /// <summary>Prompt pairs in file order.</summary>
    public IReadOnlyList<PromptRecord> Prompts { get; }

    /// <summary>Labels of token positions, when the file gives them.</summary>
    public IReadOnlyList<string>? SeqLabels { get; }

    /// <summary>Positions of named words, when the file gives them.</summary>
    public IReadOnlyDictionary<string, int> WordIdxs { get; }

    /// <summary>A dataset made in code (e.g. a built-in task's generator).</summary>
    public static DatasetDocument FromPrompts(
        string source, IReadOnlyList<PromptRecord> prompts, IReadOnlyList<string>? seqLabels = null, IReadOnlyDictionary<string, int>? wordIdxs = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0)
        {
            throw new DatasetException($"{source}: no prompts.");
        }

        return new DatasetDocument(source, prompts, seqLabels, wordIdxs ?? new Dictionary<string, int>());
    }

    /// <summary>The largest dataset file read (256 MiB) unless <see cref="MaxBytesVariable"/> says otherwise.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>The environment variable that changes <see cref="DefaultMaxBytes"/> (a byte count, e.g. <c>1073741824</c>).</summary>
    public const string MaxBytesVariable = "AUTOCIRCUIT_MAX_DATASET_BYTES";

    /// <summary>The size limit in force: <see cref="MaxBytesVariable"/> when it is a positive integer, else the default.</summary>
    public static long MaxBytes =>
        long.TryParse(Environment.GetEnvironmentVariable(MaxBytesVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : DefaultMaxBytes;

    /// <summary>Reads and validates a dataset file.</summary>
    /// <exception cref="DatasetException">The file is missing, larger than <see cref="MaxBytes"/> (checked before
    /// reading, and while reading for files without a size such as <c>/dev/zero</c> or a pipe), not UTF-8, not valid JSON
    /// (line and column given) or does not follow the format (JSON path given).</exception>
    public static DatasetDocument Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(ReadLimited(path), path);
    }

    /// <summary>The bytes of a dataset file, refused when it is a folder, missing or larger than <see cref="MaxBytes"/>.</summary>
    /// <exception cref="DatasetException">A folder, missing, too large or unreadable.</exception>
    internal static byte[] ReadLimited(string path)
    {
        if (Directory.Exists(path))
        {
            throw new DatasetException($"{path}: is a folder; expected a dataset file (JSON).");
        }

        if (!File.Exists(path))
        {
            throw new DatasetException($"{path}: dataset file not found.");
        }

        var limit = MaxBytes;
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            if (stream.CanSeek && stream.Length > limit)
            {
                throw TooLarge(path, $"{stream.Length} bytes, more than", limit);
            }

            // Read at most limit + 1 bytes: files that report no size (devices, pipes, /proc) are bounded too.
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit + 1 - buffer.Length))) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limit)
                {
                    throw TooLarge(path, "more than", limit);
                }
            }

            bytes = buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{path}: cannot read the dataset: {e.Message}", e);
        }

        return bytes;
    }

    private static DatasetException TooLarge(string path, string size, long limit) => new(
        $"{path}: {size} the dataset size limit of {limit} bytes (a dataset is a JSON file of prompts; " +
        $"set {MaxBytesVariable} to allow more).");

    /// <summary>Parses dataset JSON; <paramref name="source"/> names it in error messages.</summary>
    public static DatasetDocument Parse(ReadOnlySpan<byte> json, string source)
    {
        if (!Utf8.IsValid(json))
        {
            var (line, col) = FirstInvalidUtf8(json);
            throw new DatasetException($"{source}:{line}:{col}: not valid UTF-8 (a dataset is a UTF-8 JSON file).");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            var line = (e.LineNumber ?? 0) + 1;
            var col = (e.BytePositionInLine ?? 0) + 1;
            throw new DatasetException($"{source}:{line}:{col}: invalid JSON: {FirstSentence(e.Message)}", e);
        }

        using (doc)
        {
            try
            {
                return Read(doc.RootElement, source);
            }
            catch (InvalidOperationException e)
            {
                // JsonElement's accessors on text that is not valid Unicode (e.g. an escaped lone surrogate in a key).
                throw new DatasetException($"{source}: {FirstSentence(e.Message)}", e);
            }
        }
    }

    private static DatasetDocument Read(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new DatasetException($"{source}: the top level must be an object with a \"prompts\" array; found {Kind(root)}.");
        }

        if (!root.TryGetProperty("prompts", out var promptsEl))
        {
            throw new DatasetException($"{source}: missing \"prompts\" (an array of {{\"clean\", \"corrupt\", \"answers\", \"wrong_answers\"}} objects).");
        }

        if (promptsEl.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetException($"{source}: \"prompts\" must be an array; found {Kind(promptsEl)}.");
        }

        var prompts = new List<PromptRecord>(promptsEl.GetArrayLength());
        var i = 0;
        foreach (var p in promptsEl.EnumerateArray())
        {
            var at = $"prompts[{i}]";
            if (p.ValueKind != JsonValueKind.Object)
            {
                throw new DatasetException($"{source}: {at} must be an object; found {Kind(p)}.");
            }

            var clean = ParseInput(source, at, p, "clean");
            var corrupt = ParseInput(source, at, p, "corrupt");
            var answers = ParseAnswers(source, at, p, "answers");
            var wrong = ParseAnswers(source, at, p, "wrong_answers");
            if (clean.IsText != corrupt.IsText)
            {
                throw new DatasetException($"{source}: {at}: \"clean\" and \"corrupt\" must both be text or both be numbers.");
            }

            if (!clean.IsText && !clean.Shape!.SequenceEqual(corrupt.Shape!))
            {
                throw new DatasetException(
                    $"{source}: {at}: \"clean\" has shape [{string.Join(", ", clean.Shape!)}] but \"corrupt\" has [{string.Join(", ", corrupt.Shape!)}]; they must match.");
            }

            prompts.Add(new PromptRecord(i, clean, corrupt, answers, wrong));
            i++;
        }

        if (prompts.Count == 0)
        {
            throw new DatasetException($"{source}: \"prompts\" is empty.");
        }

        IReadOnlyList<string>? seqLabels = null;
        if (root.TryGetProperty("seq_labels", out var labelsEl) && labelsEl.ValueKind != JsonValueKind.Null)
        {
            if (labelsEl.ValueKind != JsonValueKind.Array || labelsEl.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            {
                throw new DatasetException($"{source}: \"seq_labels\" must be an array of strings.");
            }

            seqLabels = labelsEl.EnumerateArray().Select((e, j) => Text(source, $"seq_labels[{j}]", e)).ToList();
        }

        var wordIdxs = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("word_idxs", out var wordsEl) && wordsEl.ValueKind != JsonValueKind.Null)
        {
            if (wordsEl.ValueKind != JsonValueKind.Object)
            {
                throw new DatasetException($"{source}: \"word_idxs\" must be an object of word -> position.");
            }

            foreach (var prop in wordsEl.EnumerateObject())
            {
                if (prop.Value.ValueKind != JsonValueKind.Number || !prop.Value.TryGetInt32(out var idx))
                {
                    throw new DatasetException($"{source}: word_idxs.{prop.Name} must be an integer position.");
                }

                wordIdxs[prop.Name] = idx;
            }
        }

        return new DatasetDocument(source, prompts, seqLabels, wordIdxs);
    }

    private static PromptInput ParseInput(string source, string at, JsonElement prompt, string name)
    {
        if (!prompt.TryGetProperty(name, out var el))
        {
            throw new DatasetException($"{source}: {at}: missing \"{name}\".");
        }

        if (el.ValueKind == JsonValueKind.String)
        {
            return PromptInput.FromText(Text(source, $"{at}.{name}", el));
        }

        if (el.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetException($"{source}: {at}.{name} must be a string or a (nested) array of numbers; found {Kind(el)}.");
        }

        var values = new List<double>();
        var shape = new List<long>();
        ReadNested(source, $"{at}.{name}", el, 0, shape, values);
        if (shape.Count == 0 || shape[0] == 0)
        {
            throw new DatasetException($"{source}: {at}.{name} is empty.");
        }

        return PromptInput.FromNumbers([.. values], [.. shape]);
    }

    private static void ReadNested(string source, string at, JsonElement el, int depth, List<long> shape, List<double> values)
    {
        if (el.ValueKind == JsonValueKind.Number)
        {
            if (depth != shape.Count)
            {
                throw new DatasetException($"{source}: {at}: ragged array (a number where an array was expected).");
            }

            if (!el.TryGetDouble(out var value) || !double.IsFinite(value))
            {
                throw new DatasetException($"{source}: {at}: {el.GetRawText()} is not a finite number (expected a value within ±1.8e308).");
            }

            values.Add(value);
            return;
        }

        if (el.ValueKind != JsonValueKind.Array)
        {
            throw new DatasetException($"{source}: {at}: expected numbers; found {Kind(el)}.");
        }

        var len = el.GetArrayLength();
        if (depth == shape.Count)
        {
            if (values.Count > 0)
            {
                throw new DatasetException($"{source}: {at}: ragged array (an array where a number was expected).");
            }

            shape.Add(len);
        }
        else if (shape[depth] != len)
        {
            throw new DatasetException($"{source}: {at}: ragged array (rows of length {shape[depth]} and {len}).");
        }

        var i = 0;
        foreach (var child in el.EnumerateArray())
        {
            ReadNested(source, $"{at}[{i++}]", child, depth + 1, shape, values);
        }
    }

    private static AnswerList ParseAnswers(string source, string at, JsonElement prompt, string name)
    {
        if (!prompt.TryGetProperty(name, out var el))
        {
            throw new DatasetException($"{source}: {at}: missing \"{name}\".");
        }

        if (el.ValueKind != JsonValueKind.Array || el.GetArrayLength() == 0)
        {
            throw new DatasetException($"{source}: {at}.{name} must be a non-empty array of token ids or strings; found {Kind(el)}.");
        }

        var items = el.EnumerateArray().ToList();
        if (items.All(e => e.ValueKind == JsonValueKind.String))
        {
            return new AnswerList(null, items.Select((e, j) => Text(source, $"{at}.{name}[{j}]", e)).ToArray());
        }

        var ids = new long[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].ValueKind != JsonValueKind.Number || !items[i].TryGetInt64(out ids[i]))
            {
                throw new DatasetException($"{source}: {at}.{name}[{i}] must be an integer token id (or all answers strings); found {Kind(items[i])}.");
            }
        }

        return new AnswerList(ids, null);
    }

    /// <summary>A string value; an escape that is not valid UTF-16 (a lone surrogate such as <c>\ud800</c>) is refused.</summary>
    private static string Text(string source, string at, JsonElement el)
    {
        try
        {
            return el.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new DatasetException($"{source}: {at}: the string is not valid Unicode ({FirstSentence(e.Message)}).", e);
        }
    }

    /// <summary>The 1-based line and column (in bytes) of the first byte that is not UTF-8.</summary>
    private static (int Line, int Column) FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int line = 1, lineStart = 0, i = 0;
        while (i < bytes.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                break;
            }

            if (rune.Value == '\n')
            {
                line++;
                lineStart = i + 1;
            }

            i += consumed;
        }

        return (line, i - lineStart + 1);
    }

    /// <summary>How an error message names a JSON value's kind ("an object", "the number 3", …).</summary>
    internal static string Kind(JsonElement el) => el.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {el.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => el.ValueKind.ToString(),
    };

    /// <summary>A <see cref="JsonException"/>'s message without its " Path: …" tail.</summary>
    internal static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
