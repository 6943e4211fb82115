using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Hooks;

/// <summary>
/// Implemented by model families that can restart the forward pass at a block; the patching engine
/// then exposes <see cref="IBlockRestartable"/>.
/// </summary>
internal interface IBlockRestartModel
{
    /// <summary>The block that first reads the hook point <paramref name="moduleName"/>.</summary>
    int BlockOf(string moduleName);

    /// <summary>Runs the forward pass and caches every block's input.</summary>
    BlockInputs CaptureBlockInputs(Tensor input);

    /// <summary>Runs the forward pass from a block's cached input.</summary>
    Tensor ForwardFromBlock(BlockInputs inputs, int block);
}
