using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// Reads a plan file (YAML or JSON) into one JSON tree, so that the plan is checked by one reader whatever its syntax.
/// YAML plain scalars get YAML 1.2 core-schema types (<c>true</c>, <c>null</c>, <c>~</c>, integers, floats); quoted
/// scalars stay strings. Duplicate keys, several documents and non-string keys are errors naming the file and line.
/// </summary>
internal static class PlanDocument
{
    /// <summary>Parses <paramref name="text"/>; <paramref name="path"/> names the file in messages.</summary>
    /// <exception cref="AutoCircuitException">Not valid YAML/JSON, or not a mapping at the top.</exception>
    public static JsonObject Parse(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        JsonNode? root;
        if (trimmed.StartsWith('{') && string.Equals(Path.GetExtension(path), ".json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                root = JsonNode.Parse(trimmed, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                // JsonObject throws ArgumentException on a key given twice
                throw new AutoCircuitException($"{path}: not valid JSON: {e.Message}");
            }
        }
        else
        {
            root = ParseYaml(path, text);
        }

        return root as JsonObject
            ?? throw new AutoCircuitException($"{path}: the plan must be a mapping of keys (models, tasks, algorithms, ...), found {Kind(root)}.");
    }

    /// <summary>A YAML text as a JSON tree (YAML is a superset of JSON, so JSON files parse here too).</summary>
    /// <exception cref="AutoCircuitException">Invalid YAML.</exception>
    public static JsonNode? ParseYaml(string path, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new AutoCircuitException($"{path}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {Innermost(e).Message}");
        }

        return stream.Documents.Count switch
        {
            0 => null,
            1 => Convert(path, stream.Documents[0].RootNode),
            _ => throw new AutoCircuitException($"{path}: holds {stream.Documents.Count} YAML documents; a plan is one."),
        };
    }

    /// <summary>What a JSON value is, for messages.</summary>
    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "a mapping",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{v.GetValue<string>()}\"",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {v.ToJsonString()}",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            _ => v.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;

    private static JsonNode? Convert(string path, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var o = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: { } key })
                    {
                        throw new AutoCircuitException($"{path}:{keyNode.Start.Line}: a key must be a plain string.");
                    }

                    if (o.ContainsKey(key))
                    {
                        throw new AutoCircuitException($"{path}:{keyNode.Start.Line}: the key '{key}' appears twice.");
                    }

                    o[key] = Convert(path, valueNode);
                }

                return o;
            case YamlSequenceNode sequence:
                return new JsonArray(sequence.Children.Select(c => Convert(path, c)).ToArray());
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new AutoCircuitException($"{path}:{node.Start.Line}: unsupported YAML node ({node.NodeType}).");
        }
    }

    /// <summary>YAML 1.2 core schema for plain scalars; quoted and block scalars are strings.</summary>
    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return JsonValue.Create(l);
        }

        if (value.Any(char.IsDigit) && !value.Contains(',', StringComparison.Ordinal) &&
            double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return JsonValue.Create(d);
        }

        return JsonValue.Create(value);
    }
}
