using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Host.Tasks.KnownCircuits;

/// <summary>
/// The circuits from the literature shipped with the tasks, for ROC curves and <c>ground-truth</c> on real weights:
/// IOI (Wang et al. 2022) and greater-than (Hanna et al. 2023), both for GPT-2 small. Each lives in an embedded JSON file
/// beside this class that cites its sources (see docs/models-by-name.md).
/// </summary>
internal static class LiteratureCircuits
{
    private static readonly Lazy<LiteratureCircuit> IoiCircuit = new(() => Load("ioi-gpt2-small.json"));
    private static readonly Lazy<LiteratureCircuit> GreaterThanCircuit = new(() => Load("greater-than-gpt2-small.json"));

    /// <summary>IOI's circuit (Wang et al. 2022), with auto-circuit's <c>ioi_true_edges</c>: 771 edges.</summary>
    public static LiteratureCircuit Ioi => IoiCircuit.Value;

    /// <summary>Greater-than's circuit (Hanna et al. 2023) as ACDC and auto-circuit define it: 235 edges.</summary>
    public static LiteratureCircuit GreaterThan => GreaterThanCircuit.Value;

    /// <summary>The embedded file names, for <c>list</c> and docs.</summary>
    public static IReadOnlyList<string> Files { get; } = ["ioi-gpt2-small.json", "greater-than-gpt2-small.json"];

    /// <summary>
    /// Whether the model has GPT-2 small's shape, the one the circuits are stated for: a GPT-2 family transformer with
    /// 12 layers of 12 heads, each followed by an MLP (its width and vocabulary do not change the graph's node names).
    /// </summary>
    public static bool IsGpt2Small(LoadedModel loaded) =>
        loaded?.Model is Transformer { Config: { Family: TransformerFamily.Gpt2, Layers: 12, Heads: 12, AttnOnly: false, ParallelAttnMlp: false } config } &&
        !config.IsGrouped;

    /// <summary>The circuit's edges for a GPT-2-small-shaped model, else <c>null</c> (the task then has no known circuit).</summary>
    public static IReadOnlyList<CircuitEdge>? ForGpt2Small(LoadedModel loaded, LiteratureCircuit circuit)
    {
        ArgumentNullException.ThrowIfNull(circuit);
        return IsGpt2Small(loaded) ? circuit.Edges.Select(e => new CircuitEdge(e)).ToList() : null;
    }

    /// <summary>Reads one of the embedded circuit files.</summary>
    public static LiteratureCircuit Load(string file)
    {
        var name = $"AutoCircuit.Host.Tasks.KnownCircuits.{file}";
        using var stream = typeof(LiteratureCircuits).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The known-circuit file {file} is not embedded in {typeof(LiteratureCircuits).Assembly.GetName().Name}.");
        return LiteratureCircuit.Parse(stream, file);
    }
}
