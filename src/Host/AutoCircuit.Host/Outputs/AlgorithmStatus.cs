using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>Whether an algorithm produced scores (<c>"status"</c> of run.json and compare.json).</summary>
[Description("Whether the algorithm produced scores.")]
[JsonConverter(typeof(JsonStringEnumConverter<AlgorithmStatus>))]
internal enum AlgorithmStatus
{
    /// <summary>Scores were produced.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>No scores: see the record's <c>error</c>.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}
