using AutoCircuit.Engine.Hooks;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Micro;

/// <summary>
/// auto-circuit's two-layer toy (<c>model_utils/micro_model_utils.py</c>): each block has two
/// "heads" that multiply the residual elementwise by a fixed weight row ([1, 2] and [3, 4]), and the
/// block output (sum of heads) is added to the residual. Inputs are vectors <c>[batch, seq, 2]</c>;
/// the output is the final residual <c>[batch, seq, 2]</c>. It restarts at a block from cached block inputs (ACDC), as
/// transformers do. Module names are auto-circuit's
/// (<c>input</c>, <c>blocks.{i}.head_inputs</c>, <c>blocks.{i}.head_outputs</c>, <c>resids.{i}</c>, <c>output</c>).
/// </summary>
public sealed class MicroModel : nn.Module<Tensor, Tensor>, IHookedModel, IBlockRestartModel
{
    private const int Heads = 2;
    private const int DModel = 2; // width of the residual vectors

    private readonly ModuleList<MicroBlock> blocks;
    private readonly Dictionary<string, HookPoint> _hooks = new(StringComparer.Ordinal);
    private readonly HookPoint _input;
    private readonly HookPoint[] _resids;
    private readonly HookPoint _output;
    private bool _registered;

    /// <summary>Creates the model with auto-circuit's exact weights.</summary>
    public MicroModel(int layers = 2)
        : base("MicroModel")
    {
        if (layers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(layers), layers, "The micro model needs at least one layer.");
        }

        LayerCount = layers;
        _input = Hook(HookNames.Micro.Input);
        blocks = new ModuleList<MicroBlock>();
        _resids = new HookPoint[layers];
        for (var i = 0; i < layers; i++)
        {
            blocks.Add(new MicroBlock(Hook(HookNames.Micro.HeadInputs(i)), Hook(HookNames.Micro.HeadOutputs(i))));
            _resids[i] = Hook(HookNames.Micro.Resid(i));
        }

        _output = Hook(HookNames.Micro.Output);
        RegisterComponents();

        // The model owns its weights, whatever dispose scope it is created in.
        foreach (var p in parameters())
        {
            p.DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public string Description => $"micro ({LayerCount} layers)";

    /// <inheritdoc />
    public bool IsTransformer => false;

    /// <inheritdoc />
    public int LayerCount { get; }

    /// <inheritdoc />
    public long OutputSize => DModel;

    /// <inheritdoc />
    public long ResidualWidth => DModel;

    /// <inheritdoc />
    public Device Device => blocks[0].Weights.device;

    /// <inheritdoc />
    public ScalarType DType => blocks[0].Weights.dtype;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, HookPoint> HookPoints => _hooks;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 3 || input.size(2) != DModel)
        {
            throw new ArgumentException($"The micro model takes [batch, seq, {DModel}] inputs; got [{string.Join(", ", input.shape)}].");
        }

        // A hook must not dispose what it gets and returns a tensor we own (or its input): the input hook's result is
        // ours unless it is the caller's input; every later residual is ours.
        var x = _input.Apply(input); // [B, T, d]
        return RunBlocks(x, owned: !ReferenceEquals(x, input), start: 0, residuals: null);
    }

    /// <inheritdoc />
    public Tensor Forward(Tensor input) => forward(input);

    /// <inheritdoc />
    public GraphNodes FactorizedNodes(bool separateQkv)
    {
        var srcs = new List<SrcNode> { new("Resid Start", HookNames.Micro.Input, Layer: 0, SrcIndex: 0) };
        var dests = new List<DestNode>();
        var srcIdx = 1;
        for (var l = 0; l < LayerCount; l++)
        {
            for (var h = 0; h < Heads; h++)
            {
                srcs.Add(new SrcNode($"B{l}.{h}", HookNames.Micro.HeadOutputs(l), l + 1, srcIdx++, h, HookNames.HeadAxis, "weights", 0));
                dests.Add(new DestNode($"B{l}.{h}", HookNames.Micro.HeadInputs(l), l + 1, h, HookNames.HeadAxis));
            }
        }

        dests.Add(new DestNode("Resid End", HookNames.Micro.Output, LayerCount + 1));
        return new GraphNodes(srcs, dests);
    }

    /// <inheritdoc />
    public GraphNodes ResidualNodes()
    {
        var srcs = new List<SrcNode>();
        var dests = new List<DestNode>();
        var srcIdx = 0;
        for (var l = 0; l < LayerCount; l++)
        {
            var minSrc = srcIdx++;
            var first = l == 0;
            srcs.Add(new SrcNode(
                first ? "Resid Start" : $"Resid Post {l - 1}", first ? HookNames.Micro.Input : HookNames.Micro.Resid(l - 1), l, minSrc));
            for (var h = 0; h < Heads; h++)
            {
                srcs.Add(new SrcNode($"B{l}.{h}", HookNames.Micro.HeadOutputs(l), l, srcIdx++, h, HookNames.HeadAxis, "weights", 0));
            }

            var last = l == LayerCount - 1;
            dests.Add(new DestNode(
                last ? "Resid End" : $"Resid Post {l}", last ? HookNames.Micro.Output : HookNames.Micro.Resid(l), l + 1, MinSrcIndex: minSrc));
        }

        return new GraphNodes(srcs, dests);
    }

    /// <inheritdoc />
    public void FreezeParameters()
    {
        foreach (var p in parameters())
        {
            p.requires_grad = false;
        }
    }

    /// <inheritdoc />
    public void MoveTo(Device device) => this.to(device);

    /// <inheritdoc />
    /// <remarks><c>input</c> belongs to block 0, <c>blocks.{l}.*</c> and <c>resids.{l}</c> to block l, and <c>output</c> to
    /// the last block (its restart reruns that block, as a transformer's final destination does).</remarks>
    public int BlockOf(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        if (moduleName == HookNames.Micro.Input)
        {
            return 0;
        }

        if (moduleName == HookNames.Micro.Output)
        {
            return LayerCount - 1;
        }

        if (HookNames.TryGetBlock(moduleName, out var block) && block < LayerCount)
        {
            return block;
        }

        for (var l = 0; l < LayerCount; l++)
        {
            if (HookNames.Micro.Resid(l) == moduleName)
            {
                return l;
            }
        }

        throw new ArgumentException($"'{moduleName}' is not a hook point of the {LayerCount}-layer micro model.", nameof(moduleName));
    }

    /// <inheritdoc />
    /// <remarks>Block 0's input is the model's input before the <c>input</c> hook (a restart at block 0 runs the hook);
    /// block l's is the residual after <c>resids.{l-1}</c>.</remarks>
    public BlockInputs CaptureBlockInputs(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var residuals = new List<Tensor>(LayerCount) { input.clone().DetachFromDisposeScope() };
        var x = _input.Apply(input);
        RunBlocks(x, owned: !ReferenceEquals(x, input), start: 0, residuals).Dispose();
        return new BlockInputs(residuals);
    }

    /// <inheritdoc />
    public Tensor ForwardFromBlock(BlockInputs inputs, int block)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Residuals.Count != LayerCount)
        {
            throw new ArgumentException("These block inputs were not captured by this micro model.", nameof(inputs));
        }

        if (block < 0 || block >= LayerCount)
        {
            throw new ArgumentOutOfRangeException(nameof(block), block, $"Blocks are 0..{LayerCount - 1}.");
        }

        var cached = inputs.Residuals[block];
        var x = block == 0 ? _input.Apply(cached) : cached; // [B, T, d]
        return RunBlocks(x, owned: !ReferenceEquals(x, cached), start: block, residuals: null);
    }

    /// <summary>
    /// Blocks <paramref name="start"/>.. and the output hook from the residual <paramref name="x"/> (disposed here when
    /// <paramref name="owned"/>); with <paramref name="residuals"/>, adds a copy of each later block's input to it.
    /// </summary>
    private Tensor RunBlocks(Tensor x, bool owned, int start, List<Tensor>? residuals)
    {
        for (var i = start; i < LayerCount; i++)
        {
            using var blockOut = blocks[i].forward(x); // [B, T, d]
            var sum = x + blockOut;
            if (owned)
            {
                x.Dispose();
            }

            x = Through(_resids[i], sum); // [B, T, d]
            owned = true;
            if (residuals is not null && i + 1 < LayerCount)
            {
                residuals.Add(x.clone().DetachFromDisposeScope());
            }
        }

        return owned ? Through(_output, x) : _output.Apply(x); // start < LayerCount: x is ours here
    }

    /// <summary>Passes a tensor we made through a hook point; disposes it when the hook returns another.</summary>
    private static Tensor Through(HookPoint hook, Tensor x)
    {
        var y = hook.Apply(x);
        if (!ReferenceEquals(y, x))
        {
            x.Dispose();
        }

        return y;
    }

    /// <summary>Registers the blocks by hand (TorchSharp's default finds submodules by reflecting over every field, most of a
    /// small model's construction time).</summary>
    protected override void RegisterComponents()
    {
        if (_registered)
        {
            return;
        }

        register_module("blocks", blocks);
        _registered = true;
    }

    private HookPoint Hook(string name)
    {
        var hp = new HookPoint(name);
        _hooks.Add(name, hp);
        return hp;
    }

    /// <summary>One block: two heads multiplying the residual by their weight rows.</summary>
    private sealed class MicroBlock : nn.Module<Tensor, Tensor>
    {
        private readonly HookPoint _headInputs;
        private readonly HookPoint _headOutputs;
        private bool _registered;
        // Not a tensor field: TorchSharp moves and registers every Tensor or Parameter field it finds by reflection.
        private readonly WeightsView _weightsView = new();

        public MicroBlock(HookPoint headInputs, HookPoint headOutputs)
            : base("MicroBlock")
        {
            _headInputs = headInputs;
            _headOutputs = headOutputs;
            Weights = new Parameter(torch.tensor(new float[,] { { 1f, 2f }, { 3f, 4f } }));
            RegisterComponents();
        }

        public Parameter Weights { get; }

        /// <summary>Registers the weights under auto-circuit's name by hand (TorchSharp's default finds them by reflecting
        /// over every field, most of a small model's construction time).</summary>
        protected override void RegisterComponents()
        {
            if (_registered)
            {
                return;
            }

            register_parameter("weights", Weights);
            _registered = true;
        }

        /// <remarks>
        /// Heads first in memory, as the transformers keep them: the head products are <c>[B, T, H, d]</c> tensors laid
        /// out as <c>[H, B, T, d]</c>, so the multiplication and the sum over heads run over contiguous <c>B·T·d</c> rows.
        /// With heads last, libtorch's kernels loop over the 2-wide residual axis (the product and the sum took 3x the
        /// time of the whole block at the benchmark's sizes). Head inputs the engine patched already come heads first
        /// (<see cref="Engine.Patching.PatchMath.AddHeadMajor"/>) and their product keeps that layout. The values are
        /// the same: each head's product, and a sum of two terms.
        /// </remarks>
        public override Tensor forward(Tensor x)
        {
            var (b, t) = (x.size(0), x.size(1));
            using var perHead = x.as_strided([b, t, Heads, DModel], [x.stride(0), x.stride(1), 0, x.stride(2)], x.storage_offset()); // [B, T, H, d]
            var heads = _headInputs.Apply(perHead); // [B, T, H, d]
            using var ownedHeads = ReferenceEquals(heads, perHead) ? null : heads;
            Tensor products; // [B, T, H, d]
            if (ReferenceEquals(heads, perHead))
            {
                using var once = x.unsqueeze(0); // [1, B, T, d]
                using var headsFirst = once * WeightsHeadsFirst(); // [H, B, T, d]
                products = headsFirst.movedim([0L], [2L]); // [B, T, H, d], heads first in memory
            }
            else
            {
                products = heads * Weights; // [B, T, H, d] * [H, d], laid out as the patched heads are
            }

            using (products)
            {
                using var outs = Through(_headOutputs, products.alias()); // [B, T, H, d]
                return outs.sum(2); // [B, T, d]
            }
        }

        /// <summary>The weights as <c>[H, 1, 1, d]</c>, a view made once per weights tensor (moving the model replaces it).</summary>
        private Tensor WeightsHeadsFirst()
        {
            if (!ReferenceEquals(_weightsView.Of, Weights))
            {
                _weightsView.View?.Dispose();
                _weightsView.View = Weights.view(Heads, 1, 1, DModel).DetachFromDisposeScope();
                _weightsView.Of = Weights;
            }

            return _weightsView.View!;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _weightsView.View?.Dispose();
                _weightsView.View = null;
            }

            base.Dispose(disposing);
        }

        /// <summary>The weights viewed heads first, and the weights tensor it views.</summary>
        private sealed class WeightsView
        {
            public Tensor? View { get; set; }

            public Parameter? Of { get; set; }
        }
    }
}
