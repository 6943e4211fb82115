using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>Forward passes restarted at a block from cached block inputs (<see cref="IBlockRestartable"/>, used by ACDC).</summary>
public sealed partial class PatchableModel
{
    /// <inheritdoc />
    public bool CanRestartAtBlock => _model is IBlockRestartModel;

    private IBlockRestartModel Restartable => _model as IBlockRestartModel
        ?? throw new NotSupportedException($"{_model.Description} cannot restart its forward pass at a block; run the full forward instead.");

    /// <inheritdoc />
    public int BlockOf(DestinationModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return Restartable.BlockOf(module.ModuleName);
    }

    /// <inheritdoc />
    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        if (_patch is not null)
        {
            throw new InvalidOperationException("Block inputs are captured with patch mode off.");
        }

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope(); // the block inputs are the caller's, outside every scope
        return Restartable.CaptureBlockInputs(input);
    }

    /// <inheritdoc />
    /// <remarks>A forward pass like <see cref="Forward"/>: patched in patch mode, in its own dispose scope.</remarks>
    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        var restartable = Restartable;
        return RunForward(inputs.Residuals[0], () => restartable.ForwardFromBlock(inputs, block), fullPass: false);
    }
}
