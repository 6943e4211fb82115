using AutoCircuit.Graph;
using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Acdc;

/// <summary>One ACDC step, for observers (tests): the tensors are valid only during the callback.</summary>
/// <param name="Tau">The threshold being run.</param>
/// <param name="Edge">The edge just tried.</param>
/// <param name="Output">The sliced output with this edge and every edge removed so far at this tau ablated.</param>
/// <param name="Removed">Whether the edge was removed (a 0-d bool tensor on the model's device).</param>
public sealed record AcdcStep(double Tau, Edge Edge, Tensor Output, Tensor Removed);

/// <summary>
/// ACDC, automatic circuit discovery (Conmy et al., 2023, https://arxiv.org/abs/2304.14997), as
/// auto-circuit runs it (<c>prune_algos/ACDC.py</c>): for each threshold tau, starting from the full
/// model on the first train batch, try ablating each edge (with the corrupt activations) in reverse
/// topological order and keep it ablated when the faithfulness metric rises by less than tau over the
/// last accepted value. Edges start at +inf (here: the dtype's largest finite value); an edge removed at
/// tau gets <c>min(tau, score)</c>, so smaller scores mean "removable at a smaller tau".
/// </summary>
/// <remarks>
/// <para>Edge order (deterministic; auto-circuit's follows Python set order within a layer, which
/// changes from run to run, and with it the KL results): destination layer descending, then the
/// reverse of the graph's edge order — token position descending, destination module descending,
/// head descending, source index descending. See <see cref="EdgeOrder"/>.</para>
/// <para>Speed: when the model can restart at a block (<see cref="IBlockRestartable"/>), each step after
/// the first of a tau runs from the destination's block with the cached clean block input, the source
/// outputs of earlier blocks kept by the patch scope from the tau's first step, a full pass (as
/// auto-circuit's <c>start_at_layer</c> reads them from <c>curr_src_outs</c>); otherwise each step is a
/// full forward pass. The keep/remove decision is made on the device (no per-edge host read) on accelerators, and from
/// one read of the metric on the CPU, where a read costs less than the decision's operations.</para>
/// <para>Memory: the corrupt source outputs and the engine's difference buffer, two
/// <c>[n_src, batch, seq, d]</c> buffers (no copy of the clean source outputs: the first full pass of
/// each tau writes them).</para>
/// </remarks>
[PruneAlgorithm(
    "acdc",
    Name = "ACDC",
    ShortName = "ACDC",
    Description = "Automatic Circuit DisCovery: greedily ablates edges in reverse topological order while the KL " +
        "(or MSE) change stays below tau; scores are the smallest tau that removed each edge.",
    MemoryBudget = MemoryBudgetSupport.Unsupported)] // TODO(#19): chunk the per-edge forward passes
[PruneAlgorithmPreset("ACDC", "tau-exps=-6;-5;-4;-3,tau-bases=1")]
[PruneAlgorithmPreset("ACDC (MSE)", "tau-exps=-10;-9;-8;-7;-6;-5;-4;-3;-2;-1,tau-bases=1,target=mse")]
[PruneAlgorithmPreset("MSE ACDC", "tau-exps=-10;-9;-8;-7;-6;-5;-4;-3;-2;-1,tau-bases=1,target=mse")]
public sealed class Acdc(AcdcOptions options) : IPruneAlgorithm
{
    /// <summary>Creates the algorithm with an observer of every step (test mode).</summary>
    public Acdc(AcdcOptions options, Action<AcdcStep> stepObserver)
        : this(options)
    {
        StepObserver = stepObserver;
    }

    /// <summary>The options.</summary>
    public AcdcOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Called after every step (tests check each step's output against a full tree-patched forward).</summary>
    public Action<AcdcStep>? StepObserver { get; }

    /// <summary>
    /// Where each step's keep/remove decision is made: <c>true</c> with tensor operations on the model's device,
    /// <c>false</c> from a host read of the metric; <c>null</c> (the default): on the host for CPU models, on the device
    /// otherwise. The same decisions either way (tests run both on the CPU).
    /// </summary>
    internal bool? DecideOnDevice { get; init; }

    /// <summary>
    /// The order in which ACDC tries edges: destination layer descending, then token position,
    /// destination module, head and source index, each descending.
    /// </summary>
    public static IReadOnlyList<Edge> EdgeOrder(ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Edges
            .OrderByDescending(e => e.Dest.Layer)
            .ThenByDescending(e => e.SeqIndex ?? 0)
            .ThenByDescending(e => graph.DestModule(e.Dest.ModuleName).Index)
            .ThenByDescending(e => e.Dest.HeadIndex ?? 0)
            .ThenByDescending(e => e.Src.SrcIndex)
            .ToList();
    }

    /// <summary>
    /// A 0-d metric on the CPU as a double (exact from every floating type): the CPU's keep/remove decision, where a read
    /// waits for no device and costs less than the device decision's operations.
    /// </summary>
    private static double ReadOnCpu(Tensor faith) => faith.dtype switch
    {
        ScalarType.Float32 => faith.item<float>(),
        ScalarType.Float64 => faith.item<double>(),
        _ => faith.to_type(ScalarType.Float64).item<double>(),
    };

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.TrainBatches.Count == 0)
        {
            throw new ArgumentException("ACDC needs at least one train batch.", nameof(context));
        }

        var model = context.Model;
        var graph = model.Graph;
        var batch = context.TrainBatches[0]; // auto-circuit uses only the first batch.
        var order = EdgeOrder(graph);
        var modules = order.Select(e => graph.DestModule(e.Dest.ModuleName)).ToArray();
        var positions = order.Select((e, i) => EdgeIndex.InModule(modules[i], e)).ToArray();
        var restart = model is IBlockRestartable { CanRestartAtBlock: true } r ? r : null;
        var blocks = restart is null ? null : modules.Select(restart.BlockOf).ToArray();

        var scores = model.NewPruneScores(double.PositiveInfinity);
        try
        {
            using var inference = torch.inference_mode();
            using var scope = torch.NewDisposeScope();
            var patch = model.SourceAblations(batch.Corrupt, AblationType.Resample);
            var cleanOut = model.Run(batch.Clean);
            var cleanLogprobs = torch.nn.functional.log_softmax(cleanOut, -1);
            using var blockInputs = restart?.CaptureBlockInputs(batch.Clean);
            var scoreRows = graph.DestModules.Select(m => scores[m].view(-1)).ToArray();
            var maskRows = graph.DestModules.Select(m => model.Masks[m.ModuleName].view(-1)).ToArray();
            // The keep/remove decision: read on the host where that is free (CPU), made on the device elsewhere. The last
            // accepted metric is a double on the host, a 0-d tensor on the device.
            var hostDecision = DecideOnDevice is bool onDevice ? !onDevice : model.Device.type == DeviceType.CPU;
            var prev = hostDecision ? null : torch.zeros([], dtype: ScalarType.Float64, device: model.Device);

            var taus = Options.Taus();
            using var tauProgress = context.Progress.Start("ACDC", taus.Count, "τ");
            foreach (var tau in taus)
            {
                var tauValue = torch.tensor(tau, dtype: scores[graph.DestModules[0]].dtype, device: model.Device);
                model.SetAllMasks(0.0);
                prev?.zero_();
                var prevValue = 0.0;
                using (var progress = context.Progress.Start($"ACDC τ={tau:G4}", order.Count, "edge", tauProgress))
                using (model.PatchMode(patch))
                {
                    for (var i = 0; i < order.Count; i++)
                    {
                        context.CancellationToken.ThrowIfCancellationRequested();
                        using var stepScope = torch.NewDisposeScope();
                        var m = modules[i].Index;
                        var mask = maskRows[m].narrow(0, positions[i], 1);
                        mask.fill_(1.0);
                        // The first step of a tau is a full pass: it writes every source's output into the scope
                        // (clean before this edge's block, where every mask is 0), which later steps restarting at a
                        // block read for the sources they do not rerun.
                        var output = restart is null || i == 0
                            ? model.Run(batch.Clean)
                            : model.SliceOutput(restart.ForwardFromBlock(blockInputs!, blocks![i]));
                        var faith = Options.Target == AcdcTarget.KlDiv
                            ? AnswerMath.MultibatchKlDiv(torch.nn.functional.log_softmax(output, -1), cleanLogprobs)
                            : torch.nn.functional.mse_loss(output, cleanOut);

                        // auto-circuit compares Python floats: faith (a float32 value) minus the last
                        // accepted faith, against tau, in double precision.
                        if (hostDecision)
                        {
                            // On the CPU a host read costs less than the five operations of the device decision.
                            var faithValue = ReadOnCpu(faith);
                            var removedHere = faithValue - prevValue < tau;
                            if (removedHere)
                            {
                                prevValue = faithValue;
                            }
                            else
                            {
                                mask.fill_(0.0);
                            }

                            if (StepObserver is { } observe)
                            {
                                observe(new AcdcStep(tau, order[i], output, torch.tensor(removedHere, device: model.Device)));
                            }
                        }
                        else
                        {
                            var faith64 = faith.to_type(ScalarType.Float64);
                            var last = prev!;
                            var removed = (faith64 - last).lt(tau);
                            mask.copy_(removed);
                            last.copy_(torch.where(removed, faith64, last));
                            StepObserver?.Invoke(new AcdcStep(tau, order[i], output, removed));
                        }

                        progress.Advance();
                    }
                }

                // Every edge was tested once in this tau and its mask holds the decision (1: removed), so the scores
                // take min(score, tau) where a mask is 1: one update per destination module instead of one per edge.
                for (var m = 0; m < maskRows.Length; m++)
                {
                    using var stepScope = torch.NewDisposeScope();
                    var removedHere = maskRows[m].eq(1.0);
                    scoreRows[m].copy_(torch.where(removedHere, torch.minimum(scoreRows[m], tauValue), scoreRows[m]));
                }

                using var kept = maskRows.Select(row => row.sum()).Aggregate((a, b) => a + b);
                var removedCount = kept.to_type(ScalarType.Float64).ToDouble();
                context.Log($"tau={tau:G6}: removed {removedCount:F0} of {order.Count} edges");
                tauProgress.Advance();
            }

            // The host (and JSON) take finite scores only: edges no tau removed get the dtype's largest
            // finite value instead of auto-circuit's +inf, which keeps every ranking.
            foreach (var row in scoreRows)
            {
                using var inf = row.isposinf();
                row.masked_fill_(inf, torch.finfo(row.dtype).max);
            }

            return scores;
        }
        catch
        {
            scores.Dispose();
            throw;
        }
        finally
        {
            model.SetAllMasks(0.0);
        }
    }
}
