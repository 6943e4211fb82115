using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary><c>circuits/&lt;key&gt;.json</c>: one algorithm's circuits evaluated at every size.</summary>
[Description("circuits/<key>.json: one algorithm's circuits (its top edges by |score|) evaluated at every size.")]
internal sealed record CircuitEvaluationFile
{
    [Description("The algorithm whose scores define the circuits.")]
    public required string Algorithm { get; init; }

    [Description("edge (patch the circuit, run on the corrupt input) or tree (patch the rest, run on the clean input).")]
    public required string PatchType { get; init; }

    [Description("The ablation, e.g. resample.")]
    public required string Ablation { get; init; }

    [Description("Whether clean and corrupt prompts were swapped.")]
    public required bool Reverse { get; init; }

    [Description("Edges of the graph.")]
    public required int GraphEdges { get; init; }

    [Description("The circuit sizes as asked (--edges); absent in a comparison's circuits.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? EdgeCounts { get; init; }

    [Description("Test batches evaluated; absent in a comparison's circuits.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Batches { get; init; }

    [Description("Test prompts evaluated; absent in a comparison's circuits.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Prompts { get; init; }

    [Description("One entry per circuit size.")]
    public required IReadOnlyList<CircuitSizeResult> Results { get; init; }

    [Description("Area under each metric's curve, by metric key; null where undefined.")]
    public required IReadOnlyDictionary<string, double?> Auc { get; init; }

    [Description("How the circuits were selected; absent for auto-circuit's selection (every edge whose |score| reaches the k-th largest).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CircuitSelectionInfo? Selection { get; init; }

    [Description("The MIB circuit track's measures; present under --protocol mib.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public MibInfo? Mib { get; init; }

    [Description("Bootstrap intervals over the test prompts; present with --bootstrap (by default under --protocol mib).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BootstrapInfo? Bootstrap { get; init; }

    [Description("The ROC curve against the known circuit; absent without one.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RocInfo? Roc { get; init; }
}
