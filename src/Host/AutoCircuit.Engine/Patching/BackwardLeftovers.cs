using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// Tensors the <see cref="MaskGradientProbe"/>'s backward pass hands to libtorch: TorchSharp wraps the incoming gradient
/// in a new handle and reads the returned gradients' handles only after the backward function has returned, and
/// disposes neither. Their owner is this list (the engine's), emptied once the backward pass is over: when the next
/// forward pass starts, when the patch scope ends, and when the engine is disposed.
/// </summary>
internal sealed class BackwardLeftovers
{
    private readonly List<Tensor> _tensors = [];

    /// <summary>Takes ownership of <paramref name="tensor"/> (the backward pass may run on another thread).</summary>
    public void Add(Tensor tensor)
    {
        lock (_tensors)
        {
            _tensors.Add(tensor);
        }
    }

    /// <summary>Disposes every tensor taken so far (never during a backward pass).</summary>
    public void DisposeAll()
    {
        Tensor[] all;
        lock (_tensors)
        {
            all = [.. _tensors];
            _tensors.Clear();
        }

        foreach (var t in all)
        {
            t.Dispose();
        }
    }
}
