using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Graph;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Toy;
using static TorchSharp.torch;

namespace AutoCircuit.Testing;

/// <summary>
/// Builds a <see cref="TestScenario"/>: a patchable test model, generated train batches and the
/// <see cref="PruneContext"/> an algorithm receives, as the host would give them.
/// <code>
/// using var scenario = PruneContextBuilder.Micro().Batches(2, size: 4).Build();
/// using var scores = scenario.Run(new MyAlgorithm(new MyOptions()));
/// ScoreAssert.HasGraphShapes(scores, scenario.Graph);
/// </code>
/// </summary>
public sealed class PruneContextBuilder
{
    private readonly TestModel _model;
    private bool _factorized = true;
    private bool _tokenPositions;
    private int _batches = 2;
    private int _batchSize;
    private long _seed = 42;
    private bool _knownCircuit;
    private Action<string> _log = static _ => { };
    private IProgressSink _progress = NullProgressSink.Instance;
    private CancellationToken _cancellation;
    private Device _device = CPU;

    private PruneContextBuilder(TestModel model)
    {
        _model = model;
        _batchSize = model == TestModel.Micro ? 4 : 8;
    }

    /// <summary>A builder for <paramref name="model"/> (default: factorized graph, 2 batches, seed 42, CPU).</summary>
    public static PruneContextBuilder For(TestModel model) =>
        Enum.IsDefined(model) ? new PruneContextBuilder(model) : throw new ArgumentOutOfRangeException(nameof(model), model, "Not a test model.");

    /// <summary>A builder for the micro model (batches of 4 prompts of 3 vectors).</summary>
    public static PruneContextBuilder Micro() => For(TestModel.Micro);

    /// <summary>A builder for the toy induction model (batches of 8 prompts of 16 tokens).</summary>
    public static PruneContextBuilder Toy() => For(TestModel.Toy);

    /// <summary>The factorized graph (every source to every later destination; the default) or the residual one.</summary>
    public PruneContextBuilder Factorized(bool factorized = true)
    {
        _factorized = factorized;
        return this;
    }

    /// <summary>The residual graph (sources feed the next destinations through the residual stream).</summary>
    public PruneContextBuilder Residual() => Factorized(false);

    /// <summary>A graph with a token-position axis: every edge once per position, scores <c>[seq][head?][src]</c>.</summary>
    public PruneContextBuilder TokenPositions(bool tokenPositions = true)
    {
        _tokenPositions = tokenPositions;
        return this;
    }

    /// <summary><paramref name="count"/> train batches of <paramref name="size"/> prompts each.</summary>
    public PruneContextBuilder Batches(int count, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        _batches = count;
        _batchSize = size;
        return this;
    }

    /// <summary>The seed of the generated prompts and of the run (<see cref="PruneContext.Seed"/>).</summary>
    public PruneContextBuilder Seed(long seed)
    {
        _seed = seed;
        return this;
    }

    /// <summary>
    /// Gives the context the model's known circuit (<see cref="PruneContext.KnownEdges"/>): the toy model's measured
    /// induction circuit (at every position of a token-position graph). The micro model has none.
    /// </summary>
    /// <exception cref="InvalidOperationException">Asked for the micro model.</exception>
    public PruneContextBuilder WithKnownCircuit()
    {
        if (_model != TestModel.Toy)
        {
            throw new InvalidOperationException("Only the toy model has a known circuit.");
        }

        _knownCircuit = true;
        return this;
    }

    /// <summary>Where the algorithm's <see cref="PruneContext.Log"/> lines go (e.g. the test's output).</summary>
    public PruneContextBuilder Log(Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        _log = log;
        return this;
    }

    /// <summary>Where the algorithm's progress goes.</summary>
    public PruneContextBuilder Progress(IProgressSink progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        _progress = progress;
        return this;
    }

    /// <summary>The context's cancellation token.</summary>
    public PruneContextBuilder Cancellation(CancellationToken cancellation)
    {
        _cancellation = cancellation;
        return this;
    }

    /// <summary>The device of the model and the batches (default CPU).</summary>
    public PruneContextBuilder OnDevice(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        return this;
    }

    /// <summary>Builds the model, the batches and the context. Dispose the scenario when done.</summary>
    public TestScenario Build()
    {
        IHookedModel hooked;
        string description;
        IReadOnlyList<string>? circuit = null;
        if (_model == TestModel.Micro)
        {
            var micro = new MicroModel();
            micro.MoveTo(_device);
            micro.eval();
            hooked = micro;
            description = "micro";
        }
        else
        {
            var (toy, info) = ToyModel.Load();
            toy.MoveTo(_device);
            toy.eval();
            hooked = toy;
            circuit = info.Circuit;
            description = ToyModel.Name;
        }

        var batches = new List<PromptBatch>();
        PatchableModel? model = null;
        try
        {
            for (var b = 0; b < _batches; b++)
            {
                batches.Add(_model == TestModel.Micro ? MicroBatch(b) : ToyBatch(b));
            }

            int? seqLen = _tokenPositions ? (int)batches[0].Clean.size(1) : null;
            model = PatchableModel.Create(hooked, new GraphOptions(_factorized, seqLen));
            IReadOnlySet<Edge>? known = null;
            if (_knownCircuit && circuit is not null)
            {
                var names = circuit.ToHashSet(StringComparer.Ordinal);
                known = model.Graph.Edges.Where(e => names.Contains(e.Name)).ToHashSet();
            }

            var context = new PruneContext
            {
                Model = model,
                TrainBatches = batches,
                KnownEdges = known,
                Seed = _seed,
                Log = _log,
                Progress = _progress,
                CancellationToken = _cancellation,
            };
            return new TestScenario(
                _model, $"{description}, {(_factorized ? "factorized" : "residual")} graph{(seqLen is int s ? $", {s} positions" : string.Empty)}",
                hooked, model, batches, context);
        }
        catch
        {
            model?.Dispose();
            foreach (var batch in batches)
            {
                batch.Dispose();
            }

            hooked.Dispose();
            throw;
        }
    }

    /// <summary>Micro prompts: clean and corrupt vectors uniform in [-3, 3), answer 0 or 1 and the other as the wrong one.</summary>
    private PromptBatch MicroBatch(int index)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator((ulong)(_seed + index));
        var clean = ((rand([_batchSize, 3, 2], generator: gen) * 6) - 3).to(_device);
        var corrupt = ((rand([_batchSize, 3, 2], generator: gen) * 6) - 3).to(_device);
        var answer = randint(0, 2, [_batchSize, 1], generator: gen, dtype: ScalarType.Int64).to(_device);
        var wrong = (1 - answer).to(_device);
        return new PromptBatch(
            index,
            clean.MoveToOuterDisposeScope(),
            corrupt.MoveToOuterDisposeScope(),
            new AnswerSet(answer.MoveToOuterDisposeScope()),
            new AnswerSet(wrong.MoveToOuterDisposeScope()));
    }

    /// <summary>Toy prompts: the induction task's generator (<c>BOS … A B … A → B</c>; corrupt: B → C, wrong answer C).</summary>
    private PromptBatch ToyBatch(int index)
    {
        using var scope = NewDisposeScope();
        using var batch = InductionData.Generate(_batchSize, _seed + index);
        var clean = batch.Clean.clone().to(_device);
        var corrupt = batch.Corrupt.clone().to(_device);
        var answer = batch.Answer.unsqueeze(1).to(_device);
        var wrong = batch.Wrong.unsqueeze(1).to(_device);
        return new PromptBatch(
            index,
            clean.MoveToOuterDisposeScope(),
            corrupt.MoveToOuterDisposeScope(),
            new AnswerSet(answer.MoveToOuterDisposeScope()),
            new AnswerSet(wrong.MoveToOuterDisposeScope()));
    }
}
