namespace AutoCircuit.Patching;

/// <summary>
/// How mask values turn into interpolation weights between the current and the ablated
/// activation (auto-circuit's <c>MaskFn</c>): 0 keeps the current value, 1 takes the ablation.
/// </summary>
public enum MaskFunction
{
    /// <summary>The mask value is the weight.</summary>
    None = 0,

    /// <summary>
    /// The mask parameterises a HardConcrete distribution (Louizos et al., 2017), sampled per batch
    /// element: <c>clamp(sigmoid((log u - log(1-u) + m) / (2/3)) * 1.2 - 0.1, 0, 1)</c>.
    /// </summary>
    HardConcrete = 1,

    /// <summary><c>sigmoid(mask)</c>.</summary>
    Sigmoid = 2,
}
