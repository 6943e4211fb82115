using AutoCircuit.Graph;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// Optional capability of a patchable model (test with <c>model is IBlockRestartable</c>): running
/// the forward pass from a block's cached clean input instead of from the embedding. ACDC uses it to
/// test each edge from its destination's block (auto-circuit's <c>start_at_layer</c>).
/// </summary>
public interface IBlockRestartable
{
    /// <summary>Whether this model instance can restart (the engine implements the interface for every model; some cannot).</summary>
    bool CanRestartAtBlock { get; }

    /// <summary>The block whose forward pass first reads <paramref name="module"/>'s input (auto-circuit: the number in <c>blocks.{i}.</c>).</summary>
    int BlockOf(DestinationModule module);

    /// <summary>
    /// Runs the model on <paramref name="input"/> without patching and keeps each block's input
    /// residual stream (and whatever else a restart needs, such as attention masks).
    /// </summary>
    BlockInputs CaptureBlockInputs(Tensor input);

    /// <summary>
    /// The model's full output when the forward pass starts at <paramref name="block"/> from the
    /// cached input. Honours patch mode: sources before the block must already be in the
    /// <c>currSrcOuts</c> buffer given to <see cref="IPatchableModel.PatchMode"/>.
    /// </summary>
    Tensor ForwardFromBlock(BlockInputs inputs, int block);
}

/// <summary>Cached block inputs of one batch (see <see cref="IBlockRestartable"/>).</summary>
/// <param name="residuals">Input residual stream of each block, <c>[batch, seq, d_model]</c>; owned.</param>
/// <param name="state">Model-specific state a restart needs (e.g. attention mask), disposed with this object if disposable.</param>
public sealed class BlockInputs(IReadOnlyList<Tensor> residuals, object? state = null) : IDisposable
{
    /// <summary>Input residual of each block.</summary>
    public IReadOnlyList<Tensor> Residuals { get; } = residuals;

    /// <summary>Model-specific restart state.</summary>
    public object? State { get; } = state;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in Residuals)
        {
            r.Dispose();
        }

        (State as IDisposable)?.Dispose();
    }
}
