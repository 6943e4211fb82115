using static TorchSharp.torch;

namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// A model family the patching engine can wrap: a forward pass with named <see cref="HookPoint"/>s
/// at every graph node, and the node lists of its graphs (auto-circuit's per-family
/// <c>*_utils.py</c>).
/// </summary>
public interface IHookedModel : IDisposable
{
    /// <summary>A short description for logs and <c>run.json</c>, e.g. <c>micro (2 layers)</c>.</summary>
    string Description { get; }

    /// <summary>Whether inputs are token ids (transformers) rather than vectors (micro model).</summary>
    bool IsTransformer { get; }

    /// <summary>Number of blocks.</summary>
    int LayerCount { get; }

    /// <summary>Size of the output's last axis (vocabulary size for language models).</summary>
    long OutputSize { get; }

    /// <summary>Width of each source output's last axis (d_model; the micro model's vector size).</summary>
    long ResidualWidth { get; }

    /// <summary>Device of the parameters.</summary>
    Device Device { get; }

    /// <summary>Floating-point type of the parameters.</summary>
    ScalarType DType { get; }

    /// <summary>Every hook point by name.</summary>
    IReadOnlyDictionary<string, HookPoint> HookPoints { get; }

    /// <summary>Nodes of the factorized graph.</summary>
    /// <param name="separateQkv">For transformers: separate Q, K, V destinations per head.</param>
    GraphNodes FactorizedNodes(bool separateQkv);

    /// <summary>Nodes of the residual (unfactorized) graph.</summary>
    GraphNodes ResidualNodes();

    /// <summary>The model's forward pass through its hook points.</summary>
    /// <remarks>
    /// Ownership: <paramref name="input"/> stays the caller's; every <see cref="HookPoint.Apply"/> on the way gets a
    /// tensor the hook must not dispose and returns one the model owns (its argument or a new tensor in the current
    /// dispose scope). The result is the caller's. The patching engine calls this inside a dispose scope of its own and
    /// hands back only the result, so temporaries the model leaves to the scope are freed when the pass returns.
    /// </remarks>
    Tensor Forward(Tensor input);

    /// <summary>Stops every parameter from requiring grad (the patching engine trains only masks).</summary>
    void FreezeParameters();

    /// <summary>Moves the parameters to a device.</summary>
    void MoveTo(Device device);
}
