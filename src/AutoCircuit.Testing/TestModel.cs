namespace AutoCircuit.Testing;

/// <summary>The models of the test kit: small, shipped inside the package, and deterministic.</summary>
public enum TestModel
{
    /// <summary>
    /// auto-circuit's two-layer micro model: two "heads" per block that scale the residual elementwise; inputs are
    /// vectors <c>[batch, seq, 2]</c>, the output is the final residual (two "logits"). Its graph is small (a few dozen
    /// edges), so an algorithm's scores can be checked by hand; it runs in milliseconds.
    /// </summary>
    Micro,

    /// <summary>
    /// The embedded toy transformer (2 layers, 4 heads, 64 tokens) trained on in-context copying
    /// (<c>BOS … A B … A → B</c>), with its known induction circuit: a real attention model with heads, Q/K/V inputs
    /// and MLPs, for algorithms that care about those.
    /// </summary>
    Toy,
}
