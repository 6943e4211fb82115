using static TorchSharp.torch;

namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// A named point in a model's forward pass where an activation can be observed or changed
/// (TransformerLens' <c>HookPoint</c>). Without a hook it is the identity, so a model with no
/// hooks installed computes exactly its plain forward.
/// </summary>
/// <param name="name">Module name used by the graph, e.g. <c>blocks.0.hook_resid_pre</c>.</param>
public sealed class HookPoint(string name)
{
    /// <summary>The hook point's name.</summary>
    public string Name { get; } = name;

    /// <summary>The installed hook, or <c>null</c>. Owned by whoever installed it (the patching engine).</summary>
    public Func<Tensor, Tensor>? Hook { get; set; }

    /// <summary>Passes an activation through the hook point.</summary>
    public Tensor Apply(Tensor x) => Hook is null ? x : Hook(x);

    /// <inheritdoc />
    public override string ToString() => Name;
}
