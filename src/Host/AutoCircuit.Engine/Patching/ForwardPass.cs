using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// What the hooks do during one forward pass of a <see cref="PatchableModel"/>, and the state that pass needs: created
/// when the pass starts, disposed when it returns (the model holds it only while it runs). One kind per job: the three
/// patch modes (<see cref="PatchForward"/>), recording source outputs (<see cref="SourceRecording"/>) and capturing
/// activations (<see cref="ActivationCapture"/>). With patch mode off and nothing to record the hooks are the identity.
/// </summary>
/// <remarks>
/// Ownership: <see cref="Apply"/> gets the activation at a hook point, which it must not dispose, and returns either it
/// or a new tensor created in the current dispose scope (the forward pass's own, see <see cref="PatchableModel"/>).
/// Tensors a pass keeps for later (buffers, partial products) are its own and are released by <see cref="Dispose"/>;
/// what it hands to its caller is moved out by <see cref="KeepResults"/>.
/// </remarks>
internal abstract class ForwardPass : IDisposable
{
    /// <summary>The activation at <paramref name="wrapper"/>'s hook point → what the model continues with.</summary>
    public abstract Tensor Apply(PatchWrapper wrapper, Tensor x);

    /// <summary>
    /// Called once the model returned, inside the pass's dispose scope: moves the tensors the caller takes from this pass
    /// (e.g. recorded source outputs) to the enclosing scope, beside the output.
    /// </summary>
    public virtual void KeepResults()
    {
    }

    /// <summary>Releases what the pass kept for itself.</summary>
    public virtual void Dispose()
    {
    }
}
