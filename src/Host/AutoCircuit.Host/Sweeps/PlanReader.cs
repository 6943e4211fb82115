using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// Typed access to one mapping of a plan with messages that name the file and the field
/// (<c>plan.yaml: resources.slurm.cpus_per_task: expected a positive integer, found the string "two"</c>); keys the
/// reader does not know are errors listing the known ones, so a misspelt key never passes silently.
/// </summary>
internal sealed class PlanReader
{
    private readonly JsonObject _node;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public PlanReader(string file, string prefix, JsonObject node)
    {
        File = file;
        Prefix = prefix;
        _node = node;
    }

    public string File { get; }

    public string Prefix { get; }

    public string Field(string key) => Prefix.Length == 0 ? key : $"{Prefix}.{key}";

    public AutoCircuitException Error(string key, string message) => new($"{File}: {Field(key)}: {message}");

    public bool Has(string key)
    {
        _known.Add(key);
        return _node.TryGetPropertyValue(key, out var v) && v is not null;
    }

    public JsonNode? Raw(string key)
    {
        _known.Add(key);
        return _node.TryGetPropertyValue(key, out var v) ? v : null;
    }

    public string? String(string key)
    {
        var node = Raw(key);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            // A YAML scalar such as 1G or 00:10:00 may come typed as a number; the text is what was meant.
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
            _ => throw Error(key, $"expected a string, found {PlanDocument.Kind(node)}."),
        };
    }

    public bool? Bool(string key)
    {
        var node = Raw(key);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw Error(key, $"expected true or false, found {PlanDocument.Kind(node)}."),
        };
    }

    public int? Int(string key, int min = int.MinValue)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) && l >= min && l <= int.MaxValue)
        {
            return (int)l;
        }

        if (node is JsonValue d && d.GetValueKind() == JsonValueKind.Number && d.TryGetValue<double>(out var x) &&
            x == Math.Floor(x) && x >= min && x <= int.MaxValue)
        {
            return (int)x;
        }

        throw Error(key, $"expected an integer{(min > int.MinValue ? $" of at least {min}" : string.Empty)}, found {PlanDocument.Kind(node)}.");
    }

    /// <summary>A list of scalars; a single scalar counts as a list of one.</summary>
    public IReadOnlyList<JsonValue?>? ScalarList(string key)
    {
        var node = Raw(key);
        switch (node)
        {
            case null:
                return null;
            case JsonValue v:
                return [v];
            case JsonArray a:
                var items = new List<JsonValue?>();
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonObject or JsonArray)
                    {
                        throw Error(key, $"item {i}: expected a value, found {PlanDocument.Kind(a[i])}.");
                    }

                    items.Add((JsonValue?)a[i]);
                }

                if (items.Count == 0)
                {
                    throw Error(key, "the list is empty (leave the key out for the default).");
                }

                return items;
            default:
                throw Error(key, $"expected a list, found {PlanDocument.Kind(node)}.");
        }
    }

    /// <summary>A list of strings (numbers are taken as their text).</summary>
    public IReadOnlyList<string>? StringList(string key) =>
        ScalarList(key)?.Select((v, i) => v switch
        {
            null => throw Error(key, $"item {i}: expected a string, found null."),
            _ when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
            _ => throw Error(key, $"item {i}: expected a string, found {PlanDocument.Kind(v)}."),
        }).ToList();

    public PlanReader? Section(string key)
    {
        var node = Raw(key);
        return node switch
        {
            null => null,
            JsonObject o => new PlanReader(File, Field(key), o),
            _ => throw Error(key, $"expected a mapping, found {PlanDocument.Kind(node)}."),
        };
    }

    /// <summary>Throws on any key none of the accessors asked for.</summary>
    public void RejectUnknown()
    {
        foreach (var (key, _) in _node)
        {
            if (!_known.Contains(key))
            {
                throw new AutoCircuitException(
                    $"{File}: {(Prefix.Length == 0 ? string.Empty : Prefix + ": ")}unknown key '{key}'; expected one of " +
                    $"{string.Join(", ", _known.Order(StringComparer.Ordinal))}.");
            }
        }
    }

    public static string Text(JsonValue value) => value.GetValueKind() switch
    {
        JsonValueKind.String => value.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
