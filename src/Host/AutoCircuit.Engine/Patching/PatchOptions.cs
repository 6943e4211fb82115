using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Engine settings that do not change the graph or the results.</summary>
/// <param name="MaxPatchMemoryBytes">Budget for the source-output buffers of one batch (patch activations, differences,
/// current outputs); batches whose buffers would not fit are processed in chunks of prompts (see
/// <see cref="PatchableModel.MaxPatchRows"/>). <c>null</c>: no budget.</param>
/// <param name="BufferDType">Element type of the source-output buffers (recorded activations, ablations, differences):
/// <c>null</c> for the model's dtype; <c>BFloat16</c>/<c>Float16</c> halve their memory on CUDA (CPU keeps float32).</param>
/// <param name="ReferencePatching">Compute every patch as auto-circuit does, op for op (subtract, einsum, autograd through
/// the buffers), instead of the faster equivalent paths (see <c>PatchForwardMode</c>); the tests compare the two.</param>
public sealed record PatchOptions(long? MaxPatchMemoryBytes = null, ScalarType? BufferDType = null, bool ReferencePatching = false);
