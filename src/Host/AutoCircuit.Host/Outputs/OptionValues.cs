using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AutoCircuit.Host.Outputs;

/// <summary>
/// An algorithm's options in their JSON form (the <c>"options"</c> objects of run.json, compare.json and the scores
/// files): the values of <see cref="ConfiguredAlgorithm.Options"/> (booleans, numbers, strings, lists, null) or the
/// <see cref="JsonElement"/>s a scores file held.
/// </summary>
internal static class OptionValues
{
    /// <summary>The options as a JSON object's members, in their order.</summary>
    /// <exception cref="ArgumentException">A value with no JSON form.</exception>
    public static IReadOnlyDictionary<string, JsonNode?> ToJson(IEnumerable<KeyValuePair<string, object?>> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var json = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (name, value) in options)
        {
            json.Add(name, ToJson(name, value));
        }

        return json;
    }

    /// <summary>One value's JSON text, e.g. <c>3</c>, <c>"kl-div"</c>, <c>[1,2]</c>, <c>null</c>.</summary>
    /// <exception cref="ArgumentException">A value with no JSON form.</exception>
    public static string ToJsonText(string name, object? value) => ToJson(name, value)?.ToJsonString() ?? "null";

    private static JsonNode? ToJson(string name, object? value) => OptionParsing.ToJsonValue(value) switch
    {
        null => null,
        JsonElement e => e.ValueKind switch
        {
            JsonValueKind.Object => JsonObject.Create(e),
            JsonValueKind.Array => JsonArray.Create(e),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => JsonValue.Create(e),
        },
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        float f => JsonValue.Create(f),
        string s => JsonValue.Create(s),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(item => ToJson(name, item)).ToArray()),
        var other => throw new ArgumentException(
            $"Option '{name}': a value of type {other.GetType()} has no JSON form (expected a boolean, number, string, list or null).",
            nameof(value)),
    };
}
