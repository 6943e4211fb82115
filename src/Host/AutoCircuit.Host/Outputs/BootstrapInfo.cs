using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>Bootstrap intervals over prompts (circuits/&lt;key&gt;.json under <c>"bootstrap"</c>).</summary>
[Description("Percentile bootstrap intervals over the test prompts (--bootstrap): each interval is [low, high].")]
internal sealed record BootstrapInfo
{
    [Description("Resamples of the prompts (with replacement).")]
    public required int Resamples { get; init; }

    [Description("Seed of the resampling (--seed).")]
    public required long Seed { get; init; }

    [Description("Coverage of each interval (0.95: the 2.5th and 97.5th percentiles).")]
    public required double Level { get; init; }

    [Description("Per entry of results (same order), each metric's interval by key; a metric is absent where fewer than half the resamples are finite.")]
    public required IReadOnlyList<IReadOnlyDictionary<string, double[]>> Metrics { get; init; }

    [Description("Each metric's area's interval by key; null where undefined.")]
    public required IReadOnlyDictionary<string, double[]?> Auc { get; init; }

    [Description("The MIB measures' intervals; present under --protocol mib.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public MibBootstrapInfo? Mib { get; init; }
}

/// <summary>Bootstrap intervals of the MIB measures.</summary>
[Description("Bootstrap intervals of the MIB measures.")]
internal sealed record MibBootstrapInfo
{
    [Description("Per fraction, faithfulness's interval; null where undefined.")]
    public required IReadOnlyList<double[]?> Faithfulness { get; init; }

    [Description("CPR's interval; null where undefined.")]
    public required double[]? Cpr { get; init; }

    [Description("CMD's interval; null where undefined.")]
    public required double[]? Cmd { get; init; }
}
