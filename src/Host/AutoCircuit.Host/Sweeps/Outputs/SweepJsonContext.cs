using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary>
/// The serialization contract of the sweep's files (source-generated, the conventions of
/// <see cref="Host.Outputs.OutputJsonContext"/>): snake_case, nulls written, unknown members rejected on reading. The
/// schemas in <c>docs/schemas/sweep-*.schema.json</c> are generated from <see cref="Files"/>.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CellIdentity))]
[JsonSerializable(typeof(SweepCellFile))]
[JsonSerializable(typeof(SweepManifestFile))]
[JsonSerializable(typeof(SweepSummary))]
[JsonSerializable(typeof(ClaimOwner))]
[JsonSerializable(typeof(SweepIndexFile))]
[JsonSerializable(typeof(SweepStatusFile))]
[JsonSerializable(typeof(SweepCompareFile))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, JsonNode?>), TypeInfoPropertyName = "OptionValues")]
internal sealed partial class SweepJsonContext : JsonSerializerContext
{
    private static SweepJsonContext? s_compact;

    /// <summary>The same contract on one line (keys, the --json summary).</summary>
    public static SweepJsonContext Compact => s_compact ??= new(new JsonSerializerOptions(Default.Options) { WriteIndented = false });

    /// <summary>The sweep's outputs with a schema: stem (<c>docs/schemas/&lt;stem&gt;.schema.json</c>), title, contract.</summary>
    public static IReadOnlyList<(string Stem, string Title, JsonTypeInfo Contract)> Files =>
    [
        ("sweep-cell", "cell.json (a cached sweep cell)", Default.SweepCellFile),
        ("sweep-manifest", "manifest.json (a cached sweep cell)", Default.SweepManifestFile),
        ("sweep-summary", "dotnet autocircuit sweep PLAN --json (last line)", Default.SweepSummary),
        ("sweep-index", "sweeps/<plan>/index.json", Default.SweepIndexFile),
        ("sweep-status", "dotnet autocircuit sweep status PLAN --json", Default.SweepStatusFile),
        ("sweep-compare", "compare --sweep: sweep-compare.json", Default.SweepCompareFile),
    ];
}
