namespace AutoCircuit.Algorithms;

/// <summary>How an edge's score reduces the hidden (<c>d_model</c>) axis (EAP-IG's <c>aggregation</c>).</summary>
public enum Aggregation
{
    /// <summary>The sum over the hidden axis (EAP-IG's default).</summary>
    Sum = 0,

    /// <summary>The sum divided by the hidden size (<c>d_model</c>).</summary>
    Mean = 1,
}
