using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// Sees, and may replace, the activation at one graph module's hook point during
/// <see cref="IActivationIntervention.ForwardWithIntervention"/>.
/// </summary>
/// <param name="moduleName">The hook point, a source or destination module of the graph (e.g.
/// <c>blocks.0.hook_resid_pre</c>, <c>blocks.1.hook_q_input</c>).</param>
/// <param name="activation">The activation as the model computes it: <c>[batch, seq, head, d]</c> for a module with one
/// node per head (heads on <see cref="Graph.Node.HeadDim"/>), <c>[batch, seq, d]</c> otherwise. It belongs to the model:
/// do not dispose or modify it; clone what must outlive the call.</param>
/// <returns>The activation the forward pass continues with, of the same shape: <paramref name="activation"/> itself to
/// leave it unchanged (this keeps the model's fast paths), or a new tensor. The model may dispose the returned handle
/// once it is used, so return a tensor (or an <c>alias()</c> of one) the callback does not need afterwards.</returns>
/// <remarks>The forward pass runs in its own dispose scope: tensors the callback creates are freed when the pass returns
/// (or earlier, when the model frees a module's temporaries). To keep one beyond the call, e.g. an input held for
/// <c>autograd.grad</c>, take it out of the dispose scope (<c>DetachFromDisposeScope()</c>) and dispose it yourself;
/// tensors created before the pass and updated in place stay the caller's.</remarks>
public delegate Tensor ActivationIntervention(string moduleName, Tensor activation);
