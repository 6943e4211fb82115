using System.Diagnostics;
using AutoCircuit.Algorithms.Acdc;
using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Metrics;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Bench;

/// <summary>
/// One random GPT-2-shaped model wrapped by the patching engine, with its batches, and the operations the
/// benchmarks time: each is what a user's run does (the real algorithms, the real evaluator), called once.
/// Shared by <c>dotnet autocircuit bench</c> and the BenchmarkDotNet project.
/// </summary>
internal sealed class BenchWorkload : IDisposable
{
    private static readonly string FirstResidual = HookNames.ResidPre(0);
    private readonly Transformer _transformer;
    private readonly List<PromptBatch> _batches = [];
    private readonly Tensor _ablation; // [n_src, B, T, d]: source outputs on the first batch's corrupt prompts
    private readonly PruneScores _randomScores;

    /// <summary>Builds the model (seeded random weights) and <paramref name="batchCount"/> batches of random tokens.</summary>
    /// <param name="shape">Model and batch shape.</param>
    /// <param name="device">Where everything lives.</param>
    /// <param name="batchCount">Batches of random prompts.</param>
    /// <param name="seed">Weights and tokens.</param>
    /// <param name="patchOptions">Engine options (memory budget, buffer type).</param>
    /// <param name="blockRestart">Expose the transformer's block restart to ACDC (<c>false</c>: every ACDC step is a full
    /// forward pass, to measure what the restart saves).</param>
    /// <param name="separateQkv">Separate Q, K and V destinations per head (auto-circuit's <c>separate_qkv=True</c>, the
    /// default); <c>false</c>: one attention-input destination per head.</param>
    public BenchWorkload(
        BenchShape shape, Device device, int batchCount = 2, long seed = 0, PatchOptions? patchOptions = null, bool blockRestart = true,
        bool separateQkv = true)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(device);
        Shape = shape;
        Device = device;
        _transformer = new Transformer(shape.Config);
        try
        {
            _transformer.InitializeRandom(seed);
            _transformer.MoveTo(device);
            IHookedModel hooked = blockRestart ? _transformer : new WithoutBlockRestart(_transformer);
            Model = PatchableModel.Create(hooked, new GraphOptions(Factorized: true, SeparateQkv: separateQkv), patchOptions);
            using var gen = new Generator((ulong)seed + 1);
            for (var i = 0; i < Math.Max(1, batchCount); i++)
            {
                var clean = torch.randint(0, shape.Vocab, [shape.Batch, shape.Seq], dtype: ScalarType.Int64, generator: gen).to(device);
                var corrupt = torch.randint(0, shape.Vocab, [shape.Batch, shape.Seq], dtype: ScalarType.Int64, generator: gen).to(device);
                var answers = torch.randint(0, shape.Vocab, [shape.Batch, 1], dtype: ScalarType.Int64, generator: gen).to(device);
                var wrong = torch.randint(0, shape.Vocab, [shape.Batch, 1], dtype: ScalarType.Int64, generator: gen).to(device);
                _batches.Add(new PromptBatch(i, clean, corrupt, new AnswerSet(answers), new AnswerSet(wrong)));
            }

            foreach (var b in _batches)
            {
                b.Clean.DetachFromDisposeScope();
                b.Corrupt.DetachFromDisposeScope();
                b.Answers.Ids.DetachFromDisposeScope();
                b.WrongAnswers.Ids.DetachFromDisposeScope();
            }

            _ablation = Model.SourceAblations(Batch.Corrupt).DetachFromDisposeScope();
            _randomScores = Model.NewPruneScores();
            using (torch.no_grad())
            {
                foreach (var d in _randomScores.Destinations)
                {
                    using var r = torch.rand(d.Tensor.shape, generator: gen).to(device);
                    d.Tensor.copy_(r);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The shape.</summary>
    public BenchShape Shape { get; }

    /// <summary>The device.</summary>
    public Device Device { get; }

    /// <summary>The patchable model.</summary>
    public PatchableModel Model { get; } = null!;

    /// <summary>The first batch (the one single-batch operations use).</summary>
    public PromptBatch Batch => _batches[0];

    /// <summary>Every batch.</summary>
    public IReadOnlyList<PromptBatch> Batches => _batches;

    /// <summary>Edges of the factorized graph.</summary>
    public int EdgeCount => Model.Graph.EdgeCount;

    /// <summary>The smallest possible source-output buffer: <c>n_src x batch x seq x d_model x bytes</c>.</summary>
    public long MinimumSourceBufferBytes =>
        (long)Model.Graph.Srcs.Count * Shape.Batch * Shape.Seq * Shape.DModel * AutoCircuit.Engine.Patching.DTypes.Bytes(Model.BufferDType);

    /// <summary>
    /// Multiply-adds of the patch of one pass with every mask live: per destination, each mask entry times the
    /// <c>d_model</c> values of every token it patches (all tokens, or one position's with token positions).
    /// </summary>
    public double PatchMultiplyAdds
    {
        get
        {
            var total = 0.0;
            foreach (var m in Model.Graph.DestModules)
            {
                var tokensPerEntry = (double)Shape.Batch * (m.SeqLen is null ? Shape.Seq : 1);
                total += m.EdgeCount * tokensPerEntry * Shape.DModel;
            }

            return total;
        }
    }

    /// <summary>Plain forward pass of the first batch's clean prompts (hooks pass through, inference mode).</summary>
    public void PlainForward()
    {
        using var inference = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        using var output = Model.Run(Batch.Clean);
        Sync(output);
    }

    /// <summary>The same forward pass with every edge patched (masks live, all 0), inference mode.</summary>
    public void PatchedForward()
    {
        using var inference = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        using var patch = Model.PatchMode(_ablation);
        using var output = Model.Run(Batch.Clean);
        Sync(output);
    }

    /// <summary>
    /// One forward pass with gradients and one backward pass through every block (to the first residual stream; no
    /// parameter gradients, as in mask-gradient where only masks are trainable).
    /// </summary>
    public void ForwardBackward()
    {
        using var scope = torch.NewDisposeScope();
        var grads = Model.CaptureGradients(Batch.Clean, [FirstResidual], Loss);
        foreach (var g in grads.Values)
        {
            Sync(g);
            g.Dispose();
        }
    }

    /// <summary>
    /// Peak bytes of the source-output buffers the engine holds while <paramref name="action"/> runs (see
    /// <see cref="SourceBufferLedger"/>).
    /// </summary>
    public long PeakSourceBufferBytes(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Model.ReleaseBuffers();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Model.Ledger.Enabled = true;
        try
        {
            Model.Ledger.Reset();
            action();
            return Model.Ledger.PeakBytes;
        }
        finally
        {
            Model.Ledger.Enabled = false;
        }
    }

    /// <summary>The mask-gradient algorithm (EAP: logit, avg-diff, mask value 0) on the first <paramref name="batches"/> batches.</summary>
    public void MaskGradient(int batches = 1)
    {
        var algorithm = new MaskGradient(new MaskGradientOptions());
        using var scope = torch.NewDisposeScope();
        using var scores = algorithm.Run(Context(batches));
        Sync(scores[Model.Graph.DestModules[^1]]);
    }

    /// <summary>
    /// The ACDC algorithm (KL target, one tau) on the first batch, stopped after <paramref name="maxSteps"/> tested
    /// edges (or every edge when <c>null</c>).
    /// </summary>
    /// <returns>The milliseconds between the first and the last step, and the number of steps in between.</returns>
    public (double Milliseconds, int Steps) Acdc(int? maxSteps = null)
    {
        var steps = 0;
        var sw = new Stopwatch();
        double first = 0, last = 0;
        using var cts = new CancellationTokenSource();
        var acdc = new Acdc(new AcdcOptions { TauExps = [-3], TauBases = [1] }, step =>
        {
            steps++;
            if (steps == 1)
            {
                Sync(step.Removed);
                sw.Start();
                first = sw.Elapsed.TotalMilliseconds;
            }

            if (maxSteps is int m && steps >= m)
            {
                Sync(step.Removed);
                last = sw.Elapsed.TotalMilliseconds;
                cts.Cancel();
            }
            else
            {
                last = sw.Elapsed.TotalMilliseconds;
            }
        });
        try
        {
            using var scope = torch.NewDisposeScope();
            using var scores = acdc.Run(Context(1, cts.Token));
            Sync(scores[Model.Graph.DestModules[^1]]);
            last = sw.Elapsed.TotalMilliseconds;
        }
        catch (OperationCanceledException)
        {
        }

        return (last - first, Math.Max(0, steps - 1));
    }

    /// <summary>
    /// The work of one ACDC step restarting at <paramref name="block"/> (an edge's mask set, the forward pass from the
    /// block's cached input in patch mode, the KL divergence to the clean output and the on-device keep/remove
    /// decision), <paramref name="repeats"/> times; the cached inputs are captured before the clock starts.
    /// </summary>
    /// <returns>Milliseconds per step.</returns>
    public double AcdcStepsAtBlock(int block, int repeats)
    {
        using var inference = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        var clean = Model.SourceAblations(Batch.Clean);
        var curr = clean.clone();
        using var cleanOut = Model.Run(Batch.Clean);
        using var cleanLogprobs = torch.nn.functional.log_softmax(cleanOut, -1);
        using var inputs = Model.CaptureBlockInputs(Batch.Clean);
        var module = Model.Graph.DestModules.First(m => Model.BlockOf(m) == block);
        var row = Model.Masks[module.ModuleName].view(-1).narrow(0, 0, 1);
        var prev = torch.zeros([], dtype: ScalarType.Float64, device: Device);
        using var patch = Model.PatchMode(_ablation, curr);
        Tensor? removed = null;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < repeats; i++)
        {
            using var step = torch.NewDisposeScope();
            row.fill_(1.0);
            var output = Model.SliceOutput(Model.ForwardFromBlock(inputs, block));
            var faith = AnswerMath.MultibatchKlDiv(torch.nn.functional.log_softmax(output, -1), cleanLogprobs).to_type(ScalarType.Float64);
            removed = (faith - prev).lt(1e-3);
            row.copy_(removed);
            prev.copy_(torch.where(removed, faith, prev));
            removed.MoveToOuterDisposeScope();
        }

        Sync(removed!);
        var ms = sw.Elapsed.TotalMilliseconds / repeats;
        Model.SetAllMasks(0);
        return ms;
    }

    /// <summary>Tested edges whose destination is in each block (ACDC restarts at the destination's block).</summary>
    public IReadOnlyDictionary<int, int> EdgesPerBlock() =>
        Model.Graph.Edges.GroupBy(e => Model.BlockOf(Model.Graph.DestModule(e.Dest.ModuleName)))
            .ToDictionary(g => g.Key, g => g.Count());

    /// <summary>Circuit evaluation (every prune metric) of random scores at <paramref name="edgeCounts"/> sizes on the first batch.</summary>
    public void Evaluate(IReadOnlyList<int> edgeCounts)
    {
        using var scope = torch.NewDisposeScope();
        var evaluation = CircuitEvaluator.Evaluate(Model, [Batch], _randomScores, edgeCounts);
        if (evaluation.Results.Count != edgeCounts.Count)
        {
            throw new InvalidOperationException("The evaluation lost circuits.");
        }
    }

    /// <summary>A sweep of circuit sizes for the evaluation benchmark: 0, 1, 10, 100, ... and the whole graph (at most <paramref name="count"/>).</summary>
    public IReadOnlyList<int> EdgeCountSweep(int count)
    {
        var n = EdgeCount;
        var sizes = new SortedSet<int> { 0, n };
        for (var k = 1; sizes.Count < count && k < n; k *= 4)
        {
            sizes.Add(k);
        }

        for (var f = 0.5; sizes.Count < count && f > 0.01; f /= 2)
        {
            sizes.Add((int)(n * f));
        }

        return [.. sizes];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _randomScores?.Dispose();
        _ablation?.Dispose();
        foreach (var b in _batches)
        {
            b.Dispose();
        }

        Model?.Dispose();
        _transformer.Dispose();
    }

    private PruneContext Context(int batches, CancellationToken token = default) => new()
    {
        Model = Model,
        TrainBatches = _batches.Take(Math.Clamp(batches, 1, _batches.Count)).ToList(),
        Seed = 0,
        CancellationToken = token,
    };

    private Tensor Loss(Tensor output)
    {
        using var sliced = Model.SliceOutput(output);
        using var diff = AnswerMath.AvgAnswerDiff(sliced, Batch);
        return diff.neg();
    }

    /// <summary>The transformer without its <see cref="IBlockRestartModel"/> side.</summary>
    private sealed class WithoutBlockRestart(Transformer model) : IHookedModel
    {
        public string Description => model.Description;

        public bool IsTransformer => true;

        public int LayerCount => model.LayerCount;

        public long OutputSize => model.OutputSize;

        public long ResidualWidth => model.ResidualWidth;

        public Device Device => model.Device;

        public ScalarType DType => model.DType;

        public IReadOnlyDictionary<string, HookPoint> HookPoints => model.HookPoints;

        public GraphNodes FactorizedNodes(bool separateQkv) => model.FactorizedNodes(separateQkv);

        public GraphNodes ResidualNodes() => model.ResidualNodes();

        public Tensor Forward(Tensor input) => model.Forward(input);

        public void FreezeParameters() => model.FreezeParameters();

        public void MoveTo(Device device) => model.MoveTo(device);

        public void Dispose()
        {
        }
    }

    /// <summary>Waits for the device (CUDA runs asynchronously; the CPU is synchronous already).</summary>
    private void Sync(Tensor t)
    {
        if (Device.type == DeviceType.CUDA && !t.IsInvalid)
        {
            torch.cuda.synchronize();
        }
    }
}
