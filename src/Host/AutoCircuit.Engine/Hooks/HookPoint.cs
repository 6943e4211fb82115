using static TorchSharp.torch;

namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// A named point in a model's forward pass where an activation can be observed or changed
/// (TransformerLens' <c>HookPoint</c>). Without a hook it is the identity, so a model with no
/// hooks installed computes exactly its plain forward.
/// </summary>
/// <remarks>
/// Tensor ownership (one rule for every hook; docs/engine.md): the hook receives a tensor it must not dispose (the
/// model's), and returns either that same tensor or a new one created in the current dispose scope, which is the
/// caller's: the model owns the result and may dispose it once it is done with it. A hook keeps nothing it was given
/// beyond the call unless it copies or clones it.
/// </remarks>
/// <param name="name">Module name used by the graph, e.g. <c>blocks.0.hook_resid_pre</c>.</param>
public sealed class HookPoint(string name)
{
    /// <summary>The hook point's name.</summary>
    public string Name { get; } = name;

    /// <summary>
    /// The installed hook, or <c>null</c>. Owned by whoever installed it (the patching engine). It must not dispose its
    /// argument; it returns its argument or a new tensor in the current dispose scope (see the remarks on the class).
    /// </summary>
    public Func<Tensor, Tensor>? Hook { get; set; }

    /// <summary>Passes an activation through the hook point.</summary>
    /// <param name="x">The activation; still the caller's after the call (the hook does not dispose it).</param>
    /// <returns><paramref name="x"/> itself, or a new tensor in the current dispose scope; either way the caller's.</returns>
    public Tensor Apply(Tensor x) => Hook is null ? x : Hook(x);

    /// <inheritdoc />
    public override string ToString() => Name;
}
