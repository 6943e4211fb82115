using System.Globalization;
using System.Text.Json;
using AutoCircuit.Engine;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// A Hugging Face <c>config.json</c> with typed access; a missing or mistyped field is an error naming
/// the file and the field. JSON <c>null</c> counts as absent (e.g. GPT-2's <c>"n_inner": null</c>).
/// </summary>
internal sealed class HfConfig
{
    private readonly JsonElement _root;

    private HfConfig(string path, JsonElement root, string fieldPrefix = "")
    {
        Path = path;
        _root = root;
        FieldPrefix = fieldPrefix;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>How field names of this section appear in messages, e.g. <c>rope_scaling.</c> (empty at the top level).</summary>
    public string FieldPrefix { get; }

    /// <summary>Parses a config from JSON text (a built-in config); <paramref name="path"/> names it in messages.</summary>
    /// <exception cref="AutoCircuitException">Invalid JSON.</exception>
    public static HfConfig Parse(string json, string path)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? new HfConfig(path, doc.RootElement.Clone())
                : throw new AutoCircuitException($"{path}: expected a JSON object.");
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>The JSON text, for writing the config back (random checkpoints).</summary>
    public string ToJson() => _root.GetRawText();

    /// <summary>A nested object (e.g. <c>rope_scaling</c>) as a config of its own, or <c>null</c> when absent.</summary>
    /// <exception cref="AutoCircuitException">Present but not an object.</exception>
    public HfConfig? Section(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } e => new HfConfig(Path, e, $"{FieldPrefix}{name}."),
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be an object; found {e.GetRawText()}."),
    };

    /// <summary>Whether the field is written as <c>null</c> (e.g. Gemma 3's <c>"attn_logit_softcapping": null</c>, which
    /// turns off what an absent field would leave at its default).</summary>
    public bool IsNull(string name) => _root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Null;

    /// <summary>The names of the fields present.</summary>
    public IEnumerable<string> FieldNames => _root.EnumerateObject().Select(p => p.Name);

    /// <summary>A number field, or <c>null</c> when absent.</summary>
    public double? OptionalDouble(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be a number; found {e.GetRawText()}."),
    };

    /// <summary>A list of strings (e.g. Gemma's <c>layer_types</c>), or <c>null</c> when absent.</summary>
    public IReadOnlyList<string>? Strings(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Array } e when e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) =>
            e.EnumerateArray().Select(x => x.GetString()!).ToList(),
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be a list of strings; found {e.GetRawText()}."),
    };

    /// <summary>Throws naming the field, its value and what is supported.</summary>
    public AutoCircuitException Unsupported(string name, string supported) =>
        new($"{Path}: {FieldPrefix}{name} {Raw(name)} is not supported (supported: {supported}).");

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="AutoCircuitException">Missing file or invalid JSON.</exception>
    public static HfConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: not found (a Hugging Face model folder needs config.json).");
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new AutoCircuitException($"{path}: expected a JSON object.");
            }

            return new HfConfig(path, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{path}: not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>Whether the field is present and not null.</summary>
    public bool Has(string name) => Get(name) is not null;

    /// <summary>The first present field among <paramref name="names"/> (aliases) as an int.</summary>
    /// <exception cref="AutoCircuitException">None present, or not an integer.</exception>
    public int RequiredInt(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var aliases = names.Length > 1 ? $" (or '{string.Join("', '", names.Skip(1))}')" : string.Empty;
        return OptionalInt(names) ?? throw new AutoCircuitException($"{Path}: missing field '{FieldPrefix}{names[0]}'{aliases}.");
    }

    /// <summary>The first present field among <paramref name="names"/> as an int, or <c>null</c>.</summary>
    public int? OptionalInt(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        foreach (var name in names)
        {
            if (Get(name) is { } e)
            {
                return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v)
                    ? v
                    : throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be an integer; found {e.GetRawText()}.");
            }
        }

        return null;
    }

    /// <summary>A number field, or <paramref name="fallback"/> when absent.</summary>
    public double Double(string name, double fallback) => Get(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be a number; found {e.GetRawText()}."),
    };

    /// <summary>A boolean field, or <paramref name="fallback"/> when absent.</summary>
    public bool Bool(string name, bool fallback) => Get(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be true or false; found {e.GetRawText()}."),
    };

    /// <summary>A string field, or <c>null</c> when absent.</summary>
    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        { } e => throw new AutoCircuitException($"{Path}: field '{FieldPrefix}{name}' must be a string; found {e.GetRawText()}."),
    };

    /// <summary>An integer token id (a list takes its first element, as some configs store several EOS ids).</summary>
    public long? TokenId(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } e when e.TryGetInt64(out var v) => v,
        { ValueKind: JsonValueKind.Array } e when e.GetArrayLength() > 0 && e[0].TryGetInt64(out var v) => v,
        { } e => throw new AutoCircuitException($"{Path}: field '{name}' must be a token id; found {e.GetRawText()}."),
    };

    /// <summary>The raw text of a present field, for messages.</summary>
    public string Raw(string name) => Get(name)?.GetRawText() ?? "null";

    /// <summary>Throws unless the field is absent or equals <paramref name="expected"/>.</summary>
    public void Require(string name, bool expected, string why)
    {
        if (Bool(name, expected) != expected)
        {
            throw new AutoCircuitException(
                $"{Path}: field '{FieldPrefix}{name}' is {(!expected).ToString().ToLower(CultureInfo.InvariantCulture)}; {why}.");
        }
    }

    private JsonElement? Get(string name) =>
        _root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : null;
}
