using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// Writes a JSON tree as YAML (block style). Strings that a YAML reader would take for another type (<c>"8"</c>,
/// <c>"true"</c>, <c>"null"</c>) are double-quoted, so the YAML means exactly the JSON; numbers and booleans are plain.
/// </summary>
internal static class YamlWriter
{
    public static string Write(JsonNode? node, string? comment = null)
    {
        var text = new StringWriter { NewLine = "\n" };
        if (comment is not null)
        {
            foreach (var line in comment.Split('\n'))
            {
                text.Write($"# {line}\n".Replace("# \n", "#\n", StringComparison.Ordinal));
            }
        }

        var emitter = new Emitter(text, new EmitterSettings(bestIndent: 2, bestWidth: 120, isCanonical: false, maxSimpleKeyLength: 1024));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
                foreach (var (key, value) in o)
                {
                    emitter.Emit(String(key));
                    Emit(emitter, value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case JsonArray a:
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Block));
                foreach (var item in a)
                {
                    Emit(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                emitter.Emit(String(v.GetValue<string>()));
                break;
            default:
                emitter.Emit(new Scalar(null, null, node.ToJsonString(), ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));
                break;
        }
    }

    /// <summary>A string scalar: plain when a reader gives it back as that string, else double-quoted.</summary>
    private static Scalar String(string value)
    {
        JsonNode? parsed;
        try
        {
            parsed = PlanDocument.ParseYaml("(check)", value + "\n");
        }
        catch (Engine.AutoCircuitException)
        {
            parsed = null;
        }

        var plain = value.Length > 0 && parsed is JsonValue p && p.GetValueKind() == JsonValueKind.String && p.GetValue<string>() == value &&
                    !value.Contains('\n', StringComparison.Ordinal) && !value.Contains('#', StringComparison.Ordinal) &&
                    value.Trim() == value;
        return new Scalar(null, null, value, plain ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted, isPlainImplicit: true, isQuotedImplicit: true);
    }
}
