namespace AutoCircuit.Graph;

/// <summary>
/// The axes of a destination's mask and score tensor, in order <c>[seq?][head?][src]</c>.
/// <see cref="Src"/> is always present.
/// </summary>
[Flags]
public enum ScoreAxes
{
    /// <summary>Incoming sources (always the last axis).</summary>
    Src = 1,

    /// <summary>Heads of the destination module (first after seq), when it has several nodes.</summary>
    Head = 2,

    /// <summary>Token positions (first axis), when the graph was built with a fixed sequence length.</summary>
    Seq = 4,
}
