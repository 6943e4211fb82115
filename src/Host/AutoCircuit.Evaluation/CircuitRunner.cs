using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Evaluation;

/// <summary>How circuits are patched (auto-circuit's <c>run_circuits</c> arguments).</summary>
/// <param name="PatchType">Edge patch: patch the circuit's edges with activations of the other input and run on the
/// corrupt input. Tree patch: patch the complement of the circuit and run on the clean input.</param>
/// <param name="Ablation">What patched edges carry.</param>
/// <param name="ReverseCleanCorrupt">Swap clean and corrupt (for both the input and the ablations).</param>
public sealed record CircuitRunOptions(
    PatchType PatchType = PatchType.EdgePatch,
    AblationType Ablation = AblationType.Resample,
    bool ReverseCleanCorrupt = false)
{
    /// <summary>Whether the model runs on the clean inputs (and the batch-wise ablations come from the corrupt ones).</summary>
    public bool RunsOnClean => (PatchType == PatchType.TreePatch) != ReverseCleanCorrupt;

    /// <summary>One pass per circuit even where several would fit one pass (the tests compare the two).</summary>
    internal bool OnePassPerCircuit { get; init; }
}

/// <summary>Receives the outputs of the patched model, batch by batch, circuit by circuit.</summary>
/// <remarks>Every call runs under inference mode, inside the runner's dispose scope for the batch: tensors a
/// sink keeps beyond the call must be detached from it.</remarks>
internal interface ICircuitOutputSink
{
    /// <summary>Before the first batch.</summary>
    /// <param name="requested">The requested circuit sizes, in order.</param>
    /// <param name="patched">The number of edges each circuit really patches (more than requested when scores tie).</param>
    /// <param name="batchCount">Number of batches that will follow.</param>
    void Begin(IReadOnlyList<int> requested, IReadOnlyList<int> patched, int batchCount);

    /// <summary>At the start of each batch, with patch mode off (the model is the full model).</summary>
    void BeginBatch(int batchIndex, PromptBatch batch);

    /// <summary>The sliced output of circuit <paramref name="circuitIndex"/> on batch <paramref name="batchIndex"/>;
    /// valid only during the call.</summary>
    void Consume(int circuitIndex, int batchIndex, PromptBatch batch, Tensor output);
}

/// <summary>
/// auto-circuit's <c>run_circuits</c>: evaluates the top-k circuits of a set of prune scores for a list of k, in one
/// pass over the data. Per batch the ablations are computed once; then, for each k, the masks are set from
/// <c>|score| &gt;= threshold_k</c> (edge patch) or <c>&lt; threshold_k</c> (tree patch), where
/// <c>threshold_k</c> is the k-th largest <c>|score|</c> (infinity for k = 0), and the patched model runs once.
/// Ties at the threshold admit every tied edge, so a circuit may hold more than k edges: the real count is
/// reported alongside k.
/// </summary>
/// <remarks>
/// The thresholds and real counts are computed once, from one sort of the scores on the model's device, and read
/// to the host once; masks are set with whole-tensor comparisons. The model's masks are restored afterwards.
/// Where a pass costs its count of operations (small models), several circuits run as one pass over the prompts
/// repeated, one group of rows per circuit with that circuit's masks (<see cref="PatchableModel.MasksPerRowGroup"/>), as
/// many as the memory budget or <see cref="PackedPassBytes"/> allows; the pass holds the chunk's ablations and one
/// packed copy of them, which becomes its difference buffer.
/// </remarks>
internal static class CircuitRunner
{
    /// <summary>Runs the circuits and feeds their outputs to <paramref name="sink"/>.</summary>
    /// <returns>The real number of patched edges of each requested circuit.</returns>
    /// <exception cref="ArgumentException">Scores that do not fit the model's graph, or are NaN/infinite; a size
    /// outside <c>0..n_edges</c>; no batches.</exception>
    public static IReadOnlyList<int> Run(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        PruneScores scores,
        IReadOnlyList<int> edgeCounts,
        CircuitRunOptions options,
        ICircuitOutputSink sink,
        IProgressSink? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(edgeCounts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        if (batches.Count == 0)
        {
            throw new ArgumentException("Circuit evaluation needs at least one batch.", nameof(batches));
        }

        var graph = model.Graph;
        foreach (var m in graph.DestModules)
        {
            if (!scores.TryGetValue(m.ModuleName, out var t))
            {
                throw new ArgumentException($"The scores have no tensor for destination module '{m.ModuleName}' {m.DescribeShape()}.");
            }

            PruneScores.CheckShape(m, t);
        }

        foreach (var k in edgeCounts)
        {
            if (k < 0 || k > graph.EdgeCount)
            {
                throw new ArgumentException($"Edge count {k} is outside the graph's 0..{graph.EdgeCount} edges.", nameof(edgeCounts));
            }
        }

        if (scores.HasNonFinite())
        {
            throw new ArgumentException("The scores contain NaN or infinite values: circuits cannot be ranked.", nameof(scores));
        }

        return RunPlan(model, batches, () => Thresholds.Create(model, scores, edgeCounts), edgeCounts, options, sink, progress, cancellationToken);
    }

    /// <summary>Runs explicit circuits (from the selection stage, <see cref="CircuitSelector"/>) and feeds their outputs
    /// to <paramref name="sink"/>: each circuit's masks are its edge set (edge patch) or its complement (tree patch).</summary>
    /// <returns>The number of edges of each circuit.</returns>
    /// <exception cref="ArgumentException">A circuit that does not fit the model's graph; no batches.</exception>
    public static IReadOnlyList<int> Run(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        IReadOnlyList<SelectedCircuit> circuits,
        CircuitRunOptions options,
        ICircuitOutputSink sink,
        IProgressSink? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(circuits);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        if (batches.Count == 0)
        {
            throw new ArgumentException("Circuit evaluation needs at least one batch.", nameof(batches));
        }

        foreach (var c in circuits)
        {
            if (c.InCircuit.Length != model.Graph.EdgeCount)
            {
                throw new ArgumentException(
                    $"A circuit has {c.InCircuit.Length} flags; the graph has {model.Graph.EdgeCount} edges.", nameof(circuits));
            }
        }

        return RunPlan(
            model, batches, () => ExplicitCircuits.Create(model, circuits), circuits.Select(c => c.Requested).ToList(), options, sink,
            progress, cancellationToken);
    }

    private static IReadOnlyList<int> RunPlan(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        Func<ICircuitPlan> createPlan,
        IReadOnlyList<int> edgeCounts,
        CircuitRunOptions options,
        ICircuitOutputSink sink,
        IProgressSink? progress,
        CancellationToken cancellationToken)
    {
        progress ??= NullProgressSink.Instance;
        var saved = model.Masks.ToDictionary(kv => kv.Key, kv => SavedMask(kv.Value));
        using var inference = torch.inference_mode();
        Tensor? datasetAblation = null;
        try
        {
            using var plan = createPlan();
            sink.Begin(edgeCounts, plan.RealCounts, batches.Count);
            if (options.Ablation.IsMeanOverDataset())
            {
                datasetAblation = model.SourceAblations(batches, options.Ablation).DetachFromDisposeScope();
            }

            using var task = progress.Start($"circuits ({edgeCounts.Count} sizes × {batches.Count} batches)", (long)edgeCounts.Count * batches.Count);
            var engine = model as PatchableModel;
            for (var b = 0; b < batches.Count; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var batch = batches[b];
                sink.BeginBatch(b, batch);
                var input = batch.Input(options.RunsOnClean);
                var chunks = model.RowChunks(batch);
                using var ablations = datasetAblation is not null
                    ? ChunkedAblations.FromDatasetMean(model, datasetAblation)
                    : ChunkedAblations.Create(model, batch.Input(!options.RunsOnClean), options.Ablation, chunks);
                var outputs = chunks.Count == 1 ? null : edgeCounts.Select(_ => new List<Tensor>()).ToArray();
                foreach (var (start, count) in chunks)
                {
                    var perPass = engine is null || options.OnePassPerCircuit ? 1 : CircuitsPerPass(engine, batch, count, edgeCounts.Count);
                    if (perPass > 1)
                    {
                        RunPacked(engine!, start, count, perPass);
                        continue;
                    }

                    var patches = ablations.For(start, count);
                    using var rows = chunks.Count == 1 ? input.alias() : input.narrow(0, start, count);
                    // Every circuit but the last reads the chunk's ablations again; the last hands them over, so its
                    // pass turns them into its difference buffer in place (one source buffer when there is one circuit).
                    var consumeLast = ablations.OwnTensorPerChunk;
                    var shared = consumeLast ? edgeCounts.Count - 1 : edgeCounts.Count;
                    if (shared > 0)
                    {
                        using (model.PatchMode(patches))
                        {
                            for (var c = 0; c < shared; c++)
                            {
                                RunCircuit(c);
                            }
                        }
                    }

                    if (consumeLast)
                    {
                        using (model.PatchModeConsuming(patches))
                        {
                            RunCircuit(edgeCounts.Count - 1);
                        }
                    }

                    void RunCircuit(int c)
                    {
                        plan.SetMasks(model, c, options.PatchType);
                        engine?.SetActiveDestinations(plan.ActiveModules(c, options.PatchType));
                        Deliver(c, model.Run(rows));
                    }
                }

                // Circuits [first, first + perPass) of the chunk in one pass: the chunk's prompts repeated, one group of
                // rows per circuit, each patched with its circuit's masks (PatchableModel.MasksPerRowGroup).
                void RunPacked(PatchableModel engine, long start, long count, int perPass)
                {
                    using var rows = chunks.Count == 1 ? input.alias() : input.narrow(0, start, count);
                    using var patches = ablations.For(start, count); // [n_src, count, T, d]
                    for (var first = 0; first < edgeCounts.Count; first += perPass)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        using var packScope = torch.NewDisposeScope();
                        var members = Enumerable.Range(first, Math.Min(perPass, edgeCounts.Count - first)).ToArray();
                        var groupMasks = plan.GroupMasks(model, members, options.PatchType);
                        engine.SetActiveDestinations(UnionOfActive(members.Select(c => plan.ActiveModules(c, options.PatchType))));
                        var repeated = torch.cat(Enumerable.Repeat(rows, members.Length).ToArray(), 0); // [K * count, ...]
                        var packed = torch.cat(Enumerable.Repeat(patches, members.Length).ToArray(), 1); // [n_src, K * count, T, d]
                        engine.Ledger.Track(packed); // handed over below: the pass's difference buffer
                        Tensor output;
                        using (engine.MasksPerRowGroup(groupMasks))
                        using (model.PatchModeConsuming(packed))
                        {
                            output = model.Run(repeated); // [K * count, ...]
                        }

                        for (var i = 0; i < members.Length; i++)
                        {
                            Deliver(members[i], output.narrow(0, i * count, count).MoveToOuterDisposeScope());
                        }
                    }
                }

                // The output of circuit c on the chunk (in the batch's dispose scope): to the sink now (one chunk), or kept for the batch.
                void Deliver(int c, Tensor output)
                {
                    if (outputs is null)
                    {
                        using (output)
                        {
                            sink.Consume(c, b, batch, output);
                        }

                        task.Advance();
                    }
                    else
                    {
                        outputs[c].Add(output);
                    }
                }

                if (outputs is not null)
                {
                    // Chunks of prompts: each circuit's output on the whole batch, rows in order.
                    for (var c = 0; c < edgeCounts.Count; c++)
                    {
                        using var whole = torch.cat(outputs[c], 0);
                        sink.Consume(c, b, batch, whole);
                        task.Advance();
                    }
                }
            }

            return plan.RealCounts;
        }
        finally
        {
            datasetAblation?.Dispose();
            using (torch.inference_mode(false))
            using (torch.no_grad())
            {
                foreach (var (name, value) in saved)
                {
                    model.Masks[name].copy_(value);
                    value.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Source-output buffers one packed pass may hold when the model has no memory budget: enough to evaluate many
    /// circuits of a small model, where a pass costs its count of operations, in one pass; one circuit per pass where a
    /// chunk's buffers alone exceed it (GPT-2 small at a batch of 4 × 16 and up), so large models run as before.
    /// </summary>
    internal const long PackedPassBytes = 64L << 20;

    /// <summary>
    /// How many circuits to evaluate in one pass over a chunk of <paramref name="count"/> prompts repeated: as many as the
    /// memory budget's rows allow, or without a budget as fit <see cref="PackedPassBytes"/>.
    /// </summary>
    internal static int CircuitsPerPass(PatchableModel engine, PromptBatch batch, long count, int circuits)
    {
        if (circuits < 2 || !engine.CanRepeatRows)
        {
            return 1;
        }

        var rows = engine.MaxPatchRows(batch) is int r
            ? r
            : Math.Max(count, PackedPassBytes / Math.Max(1, engine.PatchBytesPerRow(batch)));
        return (int)Math.Clamp(rows / Math.Max(1, count), 1, circuits);
    }

    /// <summary>Destinations active in any of the circuits (<c>null</c>, every one, when a circuit does not say).</summary>
    private static bool[]? UnionOfActive(IEnumerable<bool[]?> active)
    {
        bool[]? union = null;
        foreach (var a in active)
        {
            if (a is null)
            {
                return null;
            }

            union ??= new bool[a.Length];
            for (var i = 0; i < a.Length; i++)
            {
                union[i] |= a[i];
            }
        }

        return union;
    }

    /// <summary>A copy of a mask, owned by the caller (outside every dispose scope).</summary>
    private static Tensor SavedMask(Tensor mask)
    {
        using var detached = mask.detach();
        return detached.clone().DetachFromDisposeScope();
    }

    /// <summary>How each circuit's masks are set.</summary>
    private interface ICircuitPlan : IDisposable
    {
        /// <summary>The number of edges each circuit patches.</summary>
        int[] RealCounts { get; }

        /// <summary>Per destination module: whether circuit <paramref name="index"/> patches any of its edges.</summary>
        bool[]? ActiveModules(int index, PatchType patchType);

        /// <summary>Sets every mask for circuit <paramref name="index"/>.</summary>
        void SetMasks(IPatchableModel model, int index, PatchType patchType);

        /// <summary>The masks of several circuits, by destination module, <c>[circuits, mask shape]</c> in the masks'
        /// dtype (in the current dispose scope).</summary>
        Dictionary<string, Tensor> GroupMasks(IPatchableModel model, IReadOnlyList<int> circuits, PatchType patchType);
    }

    /// <summary>The per-circuit thresholds, on the model's device, and the real edge counts they admit.</summary>
    private sealed class Thresholds : ICircuitPlan
    {
        private readonly (string Module, Tensor Abs)[] _absScores;
        private readonly Tensor[] _thresholds;

        private Thresholds((string, Tensor)[] absScores, Tensor[] thresholds, int[] realCounts)
        {
            _absScores = absScores;
            _thresholds = thresholds;
            RealCounts = realCounts;
        }

        public int[] RealCounts { get; }

        public static Thresholds Create(IPatchableModel model, PruneScores scores, IReadOnlyList<int> edgeCounts)
        {
            using var scope = torch.NewDisposeScope();
            var device = model.Device;
            var abs = model.Graph.DestModules
                .Select(m => (m.ModuleName, scores[m.ModuleName].to(device).abs().DetachFromDisposeScope()))
                .ToArray();
            var n = model.Graph.EdgeCount;
            var thresholds = new Tensor[edgeCounts.Count];
            if (edgeCounts.Count == 0)
            {
                return new Thresholds(abs, thresholds, []);
            }

            // auto-circuit's prune_scores_threshold: the k-th largest |score|, or +inf for k = 0.
            var flat = torch.cat(abs.Select(a => a.Item2.flatten()).ToArray(), 0);
            var (desc, _) = flat.sort(descending: true);
            var ks = torch.tensor(edgeCounts.Select(k => (long)k).ToArray(), device: device);
            var thr = n == 0
                ? torch.full([edgeCounts.Count], double.PositiveInfinity, dtype: flat.dtype, device: device)
                : desc.index_select(0, (ks - 1).clamp_min(0));
            thr = torch.where(ks.eq(0), torch.full_like(thr, double.PositiveInfinity), thr);

            // |score| >= threshold, counted for every k at once: n - (number of |scores| below the threshold).
            var asc = desc.flip(0);
            var below = torch.searchsorted(asc, thr, right: false);
            var real = (n - below).to_type(ScalarType.Int64).cpu();
            var counts = real.data<long>().Select(v => (int)v).ToArray();
            for (var i = 0; i < thresholds.Length; i++)
            {
                thresholds[i] = thr[i].DetachFromDisposeScope();
            }

            // Which modules hold an edge of each circuit (edge patch: some |score| >= threshold) or of its complement
            // (tree patch: some |score| < threshold): read once, so masks known to be all zero are skipped.
            var maxima = torch.stack(abs.Select(a => a.Item2.max()).ToArray()); // [modules]
            var minima = torch.stack(abs.Select(a => a.Item2.min()).ToArray());
            var edge = maxima.unsqueeze(0).ge(thr.unsqueeze(1)).cpu(); // [circuits, modules]
            var tree = minima.unsqueeze(0).lt(thr.unsqueeze(1)).cpu();
            var modules = abs.Length;
            var edgeFlags = edge.data<bool>().ToArray();
            var treeFlags = tree.data<bool>().ToArray();
            var activeEdge = Enumerable.Range(0, edgeCounts.Count).Select(c => edgeFlags.AsSpan(c * modules, modules).ToArray()).ToArray();
            var activeTree = Enumerable.Range(0, edgeCounts.Count).Select(c => treeFlags.AsSpan(c * modules, modules).ToArray()).ToArray();
            return new Thresholds(abs, thresholds, counts) { ActiveEdge = activeEdge, ActiveTree = activeTree };
        }

        private bool[][] ActiveEdge { get; init; } = [];

        private bool[][] ActiveTree { get; init; } = [];

        /// <summary>Per destination module (graph order = <see cref="Graph.DestinationModule.Index"/>): whether circuit
        /// <paramref name="index"/> patches any of its edges.</summary>
        public bool[]? ActiveModules(int index, PatchType patchType)
        {
            var table = patchType == PatchType.EdgePatch ? ActiveEdge : ActiveTree;
            return index < table.Length ? table[index] : null;
        }

        /// <summary>Sets every mask for circuit <paramref name="index"/> (whole-tensor comparisons, no host sync).</summary>
        public void SetMasks(IPatchableModel model, int index, PatchType patchType)
        {
            using var normal = torch.inference_mode(false);
            using var noGrad = torch.no_grad();
            var threshold = _thresholds[index];
            foreach (var (module, abs) in _absScores)
            {
                using var inCircuit = patchType == PatchType.EdgePatch ? abs.ge(threshold) : abs.lt(threshold);
                model.Masks[module].copy_(inCircuit);
            }
        }

        /// <summary>The masks of several circuits at once: one comparison per module against every threshold.</summary>
        public Dictionary<string, Tensor> GroupMasks(IPatchableModel model, IReadOnlyList<int> circuits, PatchType patchType)
        {
            using var thresholds = torch.stack(circuits.Select(c => _thresholds[c]).ToArray()); // [K]
            var masks = new Dictionary<string, Tensor>(_absScores.Length, StringComparer.Ordinal);
            foreach (var (module, abs) in _absScores)
            {
                using var column = thresholds.view([circuits.Count, .. Enumerable.Repeat(1L, (int)abs.dim())]); // [K, 1, ...]
                using var all = abs.unsqueeze(0); // [1, T?, H?, S]
                using var inCircuit = patchType == PatchType.EdgePatch ? all.ge(column) : all.lt(column); // [K, T?, H?, S]
                masks[module] = inCircuit.to_type(model.Masks[module].dtype);
            }

            return masks;
        }

        public void Dispose()
        {
            foreach (var (_, a) in _absScores)
            {
                a.Dispose();
            }

            foreach (var t in _thresholds)
            {
                t?.Dispose();
            }
        }
    }
    /// <summary>Explicit edge sets: one boolean mask per circuit and destination module, on the model's device.</summary>
    private sealed class ExplicitCircuits : ICircuitPlan
    {
        private readonly (string Module, Tensor Mask)[][] _masks;
        private readonly bool[][] _activeEdge;
        private readonly bool[][] _activeTree;

        private ExplicitCircuits((string, Tensor)[][] masks, bool[][] activeEdge, bool[][] activeTree, int[] realCounts)
        {
            _masks = masks;
            _activeEdge = activeEdge;
            _activeTree = activeTree;
            RealCounts = realCounts;
        }

        public int[] RealCounts { get; }

        public static ExplicitCircuits Create(IPatchableModel model, IReadOnlyList<SelectedCircuit> circuits)
        {
            using var scope = torch.NewDisposeScope();
            var graph = model.Graph;
            var modules = graph.DestModules;
            var masks = new (string, Tensor)[circuits.Count][];
            var activeEdge = new bool[circuits.Count][];
            var activeTree = new bool[circuits.Count][];
            for (var c = 0; c < circuits.Count; c++)
            {
                var flags = circuits[c].InCircuit;
                masks[c] = new (string, Tensor)[modules.Count];
                activeEdge[c] = new bool[modules.Count];
                activeTree[c] = new bool[modules.Count];
                for (var i = 0; i < modules.Count; i++)
                {
                    var m = modules[i];
                    var offset = (int)graph.FlatOffset(m);
                    var slice = flags.AsSpan(offset, (int)m.EdgeCount).ToArray();
                    activeEdge[c][i] = Array.IndexOf(slice, true) >= 0;
                    activeTree[c][i] = Array.IndexOf(slice, false) >= 0;
                    var cpu = torch.tensor(slice, dtype: ScalarType.Bool).reshape(m.MaskShape);
                    masks[c][i] = (m.ModuleName, cpu.to(model.Device).DetachFromDisposeScope());
                }
            }

            return new ExplicitCircuits(masks, activeEdge, activeTree, circuits.Select(x => x.Edges).ToArray());
        }

        public bool[]? ActiveModules(int index, PatchType patchType) =>
            (patchType == PatchType.EdgePatch ? _activeEdge : _activeTree)[index];

        public void SetMasks(IPatchableModel model, int index, PatchType patchType)
        {
            using var normal = torch.inference_mode(false);
            using var noGrad = torch.no_grad();
            foreach (var (module, mask) in _masks[index])
            {
                if (patchType == PatchType.EdgePatch)
                {
                    model.Masks[module].copy_(mask);
                }
                else
                {
                    using var complement = mask.logical_not();
                    model.Masks[module].copy_(complement);
                }
            }
        }

        public Dictionary<string, Tensor> GroupMasks(IPatchableModel model, IReadOnlyList<int> circuits, PatchType patchType)
        {
            var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            for (var i = 0; i < model.Graph.DestModules.Count; i++)
            {
                var module = _masks[0][i].Module;
                using var stacked = torch.stack(circuits.Select(c => _masks[c][i].Mask).ToArray()); // [K, T?, H?, S], bool
                using var chosen = patchType == PatchType.EdgePatch ? stacked.alias() : stacked.logical_not();
                masks[module] = chosen.to_type(model.Masks[module].dtype);
            }

            return masks;
        }

        public void Dispose()
        {
            foreach (var circuit in _masks)
            {
                foreach (var (_, mask) in circuit)
                {
                    mask.Dispose();
                }
            }
        }
    }
}
