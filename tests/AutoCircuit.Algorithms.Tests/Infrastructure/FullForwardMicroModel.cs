using AutoCircuit.Engine.Hooks;
using AutoCircuit.Models.Micro;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Tests;

/// <summary>
/// The micro model without its restart at a block (it is not an <see cref="IBlockRestartModel"/>), so that ACDC's
/// path for models that cannot restart, one full forward pass per tested edge, stays tested.
/// </summary>
internal sealed class FullForwardMicroModel : IHookedModel
{
    private readonly MicroModel _model = new();

    public string Description => "micro (full forward passes only)";

    public bool IsTransformer => _model.IsTransformer;

    public int LayerCount => _model.LayerCount;

    public long OutputSize => _model.OutputSize;

    public long ResidualWidth => _model.ResidualWidth;

    public Device Device => _model.Device;

    public ScalarType DType => _model.DType;

    public IReadOnlyDictionary<string, HookPoint> HookPoints => _model.HookPoints;

    public GraphNodes FactorizedNodes(bool separateQkv) => _model.FactorizedNodes(separateQkv);

    public GraphNodes ResidualNodes() => _model.ResidualNodes();

    public Tensor Forward(Tensor input) => _model.Forward(input);

    public void FreezeParameters() => _model.FreezeParameters();

    public void MoveTo(Device device) => _model.MoveTo(device);

    public void Dispose() => _model.Dispose();
}
