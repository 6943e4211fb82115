using System.ComponentModel;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;

namespace AutoCircuit.Host.Outputs;

/// <summary>
/// JSON Schemas (draft 2020-12) of the output files, generated from their records' contracts: one per file, with the
/// records' <see cref="DescriptionAttribute"/>s as descriptions. The committed copies live in <c>docs/schemas/</c>; a
/// test regenerates them and fails when they differ, so a changed record cannot leave a stale schema behind.
/// </summary>
internal static class OutputSchemas
{
    /// <summary>The JSON Schema dialect the schemas declare.</summary>
    public const string Dialect = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>
    /// The host's outputs: the schema's file name stem (<c>docs/schemas/&lt;stem&gt;.schema.json</c>), its title (the
    /// file, or the command that prints it) and the contract.
    /// </summary>
    public static IReadOnlyList<(string Stem, string Title, JsonTypeInfo Contract)> Files =>
    [
        ("run", "run.json", OutputJsonContext.Default.RunFile),
        ("compare", "compare.json", OutputJsonContext.Default.CompareFile),
        ("evaluate", "evaluate.json", OutputJsonContext.Default.EvaluateFile),
        ("circuits", "circuits/<key>.json", OutputJsonContext.Default.CircuitEvaluationFile),
        ("circuit-edges", "circuits/<key>.edges.json", OutputJsonContext.Default.CircuitEdgesFile),
        ("logits", "dotnet autocircuit logits", OutputJsonContext.Default.LastLogits),
        ("logits-all-positions", "dotnet autocircuit logits --all-positions", OutputJsonContext.Default.AllLogits),
    ];

    /// <summary>The schema of <paramref name="contract"/> as indented JSON text ending in a newline.</summary>
    /// <param name="contract">A record's contract from a source-generated context.</param>
    /// <param name="title">The schema's title, e.g. <c>run.json</c>.</param>
    public static string Generate(JsonTypeInfo contract, string title)
    {
        ArgumentNullException.ThrowIfNull(contract);
        var schema = contract.GetJsonSchemaAsNode(new JsonSchemaExporterOptions
        {
            // Collection items and dictionary values are as non-nullable as their declarations (nullable ones say '?').
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = Describe,
        });
        var root = schema as JsonObject ?? throw new InvalidOperationException($"The schema of {contract.Type} is not an object.");
        root.Insert(0, "$schema", Dialect);
        root.Insert(1, "title", title);
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return root.ToJsonString(options).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>Puts the member's (or else the type's) <see cref="DescriptionAttribute"/> first in its schema node.</summary>
    private static JsonNode Describe(JsonSchemaExporterContext context, JsonNode node)
    {
        var description = DescriptionOf(context.PropertyInfo?.AttributeProvider) ?? DescriptionOf(context.TypeInfo.Type);
        if (description is not null && node is JsonObject o && !o.ContainsKey("description"))
        {
            o.Insert(0, "description", description);
        }

        return node;
    }

    private static string? DescriptionOf(ICustomAttributeProvider? provider) =>
        provider?.GetCustomAttributes(typeof(DescriptionAttribute), inherit: false).OfType<DescriptionAttribute>().FirstOrDefault()?.Description;
}
