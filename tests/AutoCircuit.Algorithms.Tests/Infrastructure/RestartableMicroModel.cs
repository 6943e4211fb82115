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

    public Tensor Forward(Tensor input) => Run(_hooks["input"].Apply(input), 0, null);

    public int BlockOf(string moduleName) =>
        moduleName switch
        {
            "input" => 0,
            "output" => LayerCount - 1,
            _ when moduleName.StartsWith("blocks.", StringComparison.Ordinal) ||
                   moduleName.StartsWith("resids.", StringComparison.Ordinal) =>
                int.Parse(moduleName.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new ArgumentException($"unknown module {moduleName}"),
        };

    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        var residuals = new List<Tensor> { input.clone().DetachFromDisposeScope() };
        Run(_hooks["input"].Apply(input), 0, residuals).Dispose();
        return new BlockInputs(residuals);
    }

    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var x = inputs.Residuals[block];
        return Run(block == 0 ? _hooks["input"].Apply(x) : x, block, null);
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
            var heads = _hooks[$"blocks.{l}.head_inputs"].Apply(x.unsqueeze(2).expand(x.shape[0], x.shape[1], 2, 2));
            var outs = _hooks[$"blocks.{l}.head_outputs"].Apply(heads * _weights);
            x = _hooks[$"resids.{l}"].Apply(x + outs.sum(2));
            if (residuals is not null && l + 1 < LayerCount)
            {
                residuals.Add(x.clone().DetachFromDisposeScope());
            }
        }

        return _hooks["output"].Apply(x);
    }
}
