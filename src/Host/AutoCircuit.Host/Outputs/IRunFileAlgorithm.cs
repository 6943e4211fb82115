using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>
/// One entry of run.json's <c>"algorithms"</c>: <see cref="RunFileAlgorithmScored"/> when the algorithm produced scores,
/// else <see cref="RunFileAlgorithmFailed"/>. Written as the record it is, without a type field (the schema is either).
/// </summary>
[JsonDerivedType(typeof(RunFileAlgorithmFailed))]
[JsonDerivedType(typeof(RunFileAlgorithmScored))]
internal interface IRunFileAlgorithm
{
    /// <summary>The algorithm's key.</summary>
    string Key { get; }

    /// <summary>Whether it produced scores.</summary>
    AlgorithmStatus Status { get; }
}
