namespace AutoCircuit.Patching;

/// <summary>Whether a circuit is evaluated by patching its edges or its complement.</summary>
public enum PatchType
{
    /// <summary>Patch the circuit's edges (with clean activations) and run on the corrupt input.</summary>
    EdgePatch = 1,

    /// <summary>Patch every edge <em>not</em> in the circuit (with corrupt activations) and run on the clean input.</summary>
    TreePatch = 2,
}
