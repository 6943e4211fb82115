using AutoCircuit.Engine;

namespace AutoCircuit.Evaluation;

/// <summary>How the edges of a circuit of size k are chosen from the scores (<c>--select</c>).</summary>
public enum SelectionMethod
{
    /// <summary>The k edges of largest score (EAP-IG's <c>apply_topn</c>).</summary>
    TopK = 0,

    /// <summary>EAP-IG's <c>apply_greedy</c>: grow the circuit from the logits up, always taking the best-scored edge
    /// into a node already in the circuit.</summary>
    Greedy = 1,
}

/// <summary>Whether a circuit is a set of edges or of nodes (<c>--level</c>).</summary>
public enum CircuitLevel
{
    /// <summary>The selected edges.</summary>
    Edge = 0,

    /// <summary>Every node touched by a selected edge is in, and with it every edge between two nodes that are in.</summary>
    Node = 1,
}

/// <summary>Which evaluation protocol measures the circuits (<c>--protocol</c>).</summary>
public enum EvaluationProtocol
{
    /// <summary>auto-circuit's: its circuit sizes, its fourteen metrics and their areas.</summary>
    AutoCircuit = 0,

    /// <summary>The MIB circuit track's: fractions of the edges, signed ranking, pruned circuits, faithfulness, CPR and CMD.</summary>
    Mib = 1,
}

/// <summary>
/// The circuit-selection stage shared by every algorithm: how the scores become the edge set of each circuit size.
/// </summary>
/// <param name="Method">Top-k or greedy.</param>
/// <param name="Absolute">Rank by <c>|score|</c> (<c>true</c>) or by the signed score (<c>false</c>); <c>null</c>: the
/// protocol's default (absolute for auto-circuit, signed for MIB).</param>
/// <param name="Prune">Drop edges that are not on a path from the input to the logits inside the circuit, to a fixed point
/// (EAP-IG's <c>Graph.prune</c>); <c>null</c>: the protocol's default (off for auto-circuit, on for MIB).</param>
/// <param name="Level">Edge or node circuits.</param>
public sealed record CircuitSelection(
    SelectionMethod Method = SelectionMethod.TopK,
    bool? Absolute = null,
    bool? Prune = null,
    CircuitLevel Level = CircuitLevel.Edge)
{
    /// <summary>auto-circuit's selection: every edge whose <c>|score|</c> reaches the k-th largest (ties admit more).</summary>
    public static CircuitSelection Default { get; } = new();

    /// <summary>This selection with the protocol's defaults filled in.</summary>
    public CircuitSelection Resolve(EvaluationProtocol protocol) => this with
    {
        Absolute = Absolute ?? protocol == EvaluationProtocol.AutoCircuit,
        Prune = Prune ?? protocol == EvaluationProtocol.Mib,
    };

    /// <summary>
    /// Whether, once resolved for <paramref name="protocol"/>, this is auto-circuit's own threshold selection (top-k by
    /// <c>|score|</c>, ties admitted, no pruning, edges): circuits are then patched from thresholds exactly as before
    /// the selection stage existed.
    /// </summary>
    public bool IsThresholdSelection(EvaluationProtocol protocol)
    {
        var r = Resolve(protocol);
        return r.Method == SelectionMethod.TopK && r.Absolute == true && r.Prune == false && r.Level == CircuitLevel.Edge;
    }

    /// <summary>The CLI names, e.g. <c>top-k, signed, pruned, edge</c>.</summary>
    public string Describe(EvaluationProtocol protocol)
    {
        var r = Resolve(protocol);
        return $"{MethodName(r.Method)}, {(r.Absolute == true ? "absolute" : "signed")}, {(r.Prune == true ? "pruned" : "not pruned")}, " +
               $"{LevelName(r.Level)} level";
    }

    /// <summary>The CLI name of a method: <c>top-k</c> or <c>greedy</c>.</summary>
    public static string MethodName(SelectionMethod method) => method switch
    {
        SelectionMethod.TopK => "top-k",
        SelectionMethod.Greedy => "greedy",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    /// <summary>The CLI name of a level: <c>edge</c> or <c>node</c>.</summary>
    public static string LevelName(CircuitLevel level) => level switch
    {
        CircuitLevel.Edge => "edge",
        CircuitLevel.Node => "node",
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, null),
    };

    /// <summary>The CLI name of a protocol: <c>auto-circuit</c> or <c>mib</c>.</summary>
    public static string ProtocolName(EvaluationProtocol protocol) => protocol switch
    {
        EvaluationProtocol.AutoCircuit => "auto-circuit",
        EvaluationProtocol.Mib => "mib",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
    };

    /// <summary>Parses the CLI values; <c>null</c> means the default of each.</summary>
    /// <param name="method"><c>--select</c>: <c>top-k</c> or <c>greedy</c>.</param>
    /// <param name="absolute"><c>--absolute</c> given.</param>
    /// <param name="signed"><c>--signed</c> given.</param>
    /// <param name="prune"><c>--prune</c>: <c>true</c>/<c>false</c>, or <c>null</c> for the protocol's default.</param>
    /// <param name="level"><c>--level</c>: <c>edge</c> or <c>node</c>.</param>
    /// <exception cref="AutoCircuitException">An unknown name, or both <c>--absolute</c> and <c>--signed</c>.</exception>
    public static CircuitSelection Parse(string? method, bool absolute, bool signed, bool? prune, string? level)
    {
        if (absolute && signed)
        {
            throw new AutoCircuitException("--absolute and --signed exclude each other: give one.");
        }

        var m = method?.Trim().ToLowerInvariant() switch
        {
            null or "" or "top-k" or "topk" => SelectionMethod.TopK,
            "greedy" => SelectionMethod.Greedy,
            _ => throw new AutoCircuitException($"--select {method}: expected top-k or greedy."),
        };
        var l = level?.Trim().ToLowerInvariant() switch
        {
            null or "" or "edge" => CircuitLevel.Edge,
            "node" => CircuitLevel.Node,
            _ => throw new AutoCircuitException($"--level {level}: expected edge or node."),
        };
        if (m == SelectionMethod.Greedy && l == CircuitLevel.Node)
        {
            throw new AutoCircuitException("--select greedy is defined over edges only (as EAP-IG's apply_greedy): use --level edge.");
        }

        return new CircuitSelection(m, absolute ? true : signed ? false : null, prune, l);
    }

    /// <summary>Parses <c>--protocol</c>: <c>auto-circuit</c> (the default) or <c>mib</c>.</summary>
    /// <exception cref="AutoCircuitException">Another value.</exception>
    public static EvaluationProtocol ParseProtocol(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto-circuit" or "autocircuit" => EvaluationProtocol.AutoCircuit,
        "mib" => EvaluationProtocol.Mib,
        _ => throw new AutoCircuitException($"--protocol {text}: expected auto-circuit or mib."),
    };
}
