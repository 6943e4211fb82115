namespace AutoCircuit;

/// <summary>
/// A named configuration of an algorithm (like auto-circuit's <c>PRUNE_ALGOS</c> entries, e.g. "EAP"),
/// selectable by name on the command line. Repeat the attribute for several presets.
/// </summary>
/// <param name="name">Preset name, e.g. <c>EAP (Prob)</c>. Matched case-insensitively.</param>
/// <param name="options">Option assignments in spec syntax, e.g. <c>grad-function=prob,answer-function=avg-val,mask-value=0</c>.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = true)]
public sealed class PruneAlgorithmPresetAttribute(string name, string options) : Attribute
{
    /// <summary>Preset name.</summary>
    public string Name { get; } = name;

    /// <summary>Option assignments in spec syntax.</summary>
    public string Options { get; } = options;
}
