using AutoCircuit.Engine.Hooks;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Tests;

/// <summary>
/// The micro model's computation with the same hook points, plus the ability to restart the forward pass
/// at a block from its cached input (<see cref="IBlockRestartModel"/>), so ACDC's start-at-block path is
/// tested before the transformers land. <c>blocks.{l}.*</c> and <c>resids.{l}</c> belong to block l,
/// <c>input</c> to block 0 and <c>output</c> to the last block.
/// </summary>
internal sealed class RestartableMicroModel : IHookedModel, IBlockRestartModel
{
    private readonly MicroModel _nodes = new();
    private readonly Dictionary<string, HookPoint> _hooks = new(StringComparer.Ordinal);
    private readonly Tensor _weights = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 } });

    public RestartableMicroModel()
    {
        foreach (var name in _nodes.HookPoints.Keys)
        {
            _hooks[name] = new HookPoint(name);
        }
    }

    public string Description => "micro (restartable test double)";

    public bool IsTransformer => false;

    public int LayerCount => _nodes.LayerCount;

    public long OutputSize => 2;

    public long ResidualWidth => 2;

    public Device Device => torch.CPU;

    public ScalarType DType => ScalarType.Float32;

    public IReadOnlyDictionary<string, HookPoint> HookPoints => _hooks;

    public GraphNodes FactorizedNodes(bool separateQkv) => _nodes.FactorizedNodes(separateQkv);

    public GraphNodes ResidualNodes() => _nodes.ResidualNodes();

    public Tensor Forward(Tensor input) => Run(_hooks[HookNames.Micro.Input].Apply(input), 0, null);

    public int BlockOf(string moduleName)
    {
        if (moduleName == HookNames.Micro.Input)
        {
            return 0;
        }

        if (moduleName == HookNames.Micro.Output)
        {
            return LayerCount - 1;
        }

        if (HookNames.TryGetBlock(moduleName, out var block))
        {
            return block;
        }

        var resid = Enumerable.Range(0, LayerCount).Where(l => HookNames.Micro.Resid(l) == moduleName).ToList();
        return resid.Count == 1 ? resid[0] : throw new ArgumentException($"unknown module {moduleName}");
    }

    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        var residuals = new List<Tensor> { input.clone().DetachFromDisposeScope() };
        Run(_hooks[HookNames.Micro.Input].Apply(input), 0, residuals).Dispose();
        return new BlockInputs(residuals);
    }

    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs.Residuals[block];
        return Run(block == 0 ? _hooks[HookNames.Micro.Input].Apply(x) : x, block, null);
    }

    public void FreezeParameters()
    {
    }

    public void MoveTo(Device device)
    {
        if (device.type != DeviceType.CPU)
        {
            throw new NotSupportedException("test double: CPU only");
        }
    }

    public void Dispose()
    {
        _nodes.Dispose();
        _weights.Dispose();
    }

    private Tensor Run(Tensor x, int start, List<Tensor>? residuals)
    {
        for (var l = start; l < LayerCount; l++)
        {
            var heads = _hooks[HookNames.Micro.HeadInputs(l)].Apply(x.unsqueeze(2).expand(x.shape[0], x.shape[1], 2, 2));
            var outs = _hooks[HookNames.Micro.HeadOutputs(l)].Apply(heads * _weights);
            x = _hooks[HookNames.Micro.Resid(l)].Apply(x + outs.sum(2));
            if (residuals is not null && l + 1 < LayerCount)
            {
                residuals.Add(x.clone().DetachFromDisposeScope());
            }
        }

        return _hooks[HookNames.Micro.Output].Apply(x);
    }
}
