using static TorchSharp.torch;

namespace AutoCircuit.Host.Models;

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

    /// <summary>
    /// Installed by the patching engine with <see cref="Hook"/>: for the forward pass in progress, whether the hook is a
    /// mask-gradient probe at mask 0 that the model may take over (see <see cref="HeadInputProbe"/>); <c>null</c> or a
    /// <c>null</c> result: apply the hook.
    /// </summary>
    internal Func<HeadInputProbe?>? Defer { get; set; }

    /// <summary>
    /// The probe the model takes over instead of applying the hook (it then leaves the activation as it is, reports the
    /// activation's gradient and must not call <see cref="Apply"/>), or <c>null</c>.
    /// </summary>
    internal HeadInputProbe? TryDefer() => Hook is null ? null : Defer?.Invoke();

    /// <inheritdoc />
    public override string ToString() => Name;
}
