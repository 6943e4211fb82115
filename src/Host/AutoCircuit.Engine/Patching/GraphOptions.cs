using AutoCircuit.Patching;

namespace AutoCircuit.Engine.Patching;

/// <summary>How to build a patchable model's graph (auto-circuit's <c>patchable_model</c> arguments).</summary>
/// <param name="Factorized">Factorized graph (edge patching) or residual graph (node patching).</param>
/// <param name="SeqLen">Token positions for per-position edges, or <c>null</c>.</param>
/// <param name="SeparateQkv">Separate Q/K/V destinations (transformers, factorized graph).</param>
/// <param name="OutputSlice">Which part of the output the task is measured on.</param>
public sealed record GraphOptions(
    bool Factorized = true,
    int? SeqLen = null,
    bool SeparateQkv = true,
    OutputSlice OutputSlice = OutputSlice.LastSeq);
