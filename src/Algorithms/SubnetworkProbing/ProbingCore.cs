using System.Globalization;
using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.SubnetworkProbing;

/// <summary>One subnetwork-probing training run's settings.</summary>
internal sealed record ProbingSettings(
    double LearningRate,
    int Epochs,
    double RegularizeLambda,
    MaskFunction MaskFn,
    double Dropout,
    double InitVal,
    bool TreeOptimisation,
    IReadOnlyList<string> AvoidEdges,
    double AvoidLambda,
    ProbingTarget Target)
{
    public static ProbingSettings From(ProbingOptionsBase o, double initVal, bool tree, ProbingTarget target) =>
        new(o.LearningRate, o.Epochs, o.RegularizeLambda, o.MaskFn, o.Dropout, initVal, tree, o.AvoidEdges,
            o.AvoidLambda, target);
}

/// <summary>
/// Mask training shared by subnetwork probing and circuit probing (auto-circuit's
/// <c>subnetwork_probing_prune_scores</c>; Cao et al., 2021, https://arxiv.org/abs/2104.03514).
/// </summary>
internal static class ProbingCore
{
    /// <summary>
    /// Cao et al.'s constant in the avoid-edges penalty under HardConcrete: <c>temp * log(-left / right)</c>.
    /// </summary>
    private static readonly double RegularizeConst =
        HardConcrete.Temperature * Math.Log(-HardConcrete.Left / HardConcrete.Right);

    /// <summary>
    /// Trains the masks and returns scores <c>|extreme mask| ± mask</c> (≥ 0, larger = more in the circuit).
    /// Ablations are token-wise means of the corrupt prompts whatever the direction, as in auto-circuit.
    /// </summary>
    /// <param name="context">The run.</param>
    /// <param name="s">The settings.</param>
    /// <param name="circuitSize">The circuit size the regularisation aims at, or <c>null</c>.</param>
    /// <param name="title">Progress description.</param>
    /// <param name="parent">The progress task this training is one step of (circuit probing's sizes), or <c>null</c>.</param>
    public static PruneScores Train(PruneContext context, ProbingSettings s, int? circuitSize, string title, IProgressTask? parent = null)
    {
        var model = context.Model;
        var graph = model.Graph;
        var batches = context.TrainBatches;
        if (batches.Count == 0)
        {
            throw new ArgumentException("Subnetwork probing needs at least one train batch.", nameof(context));
        }

        var nEdges = graph.EdgeCount;
        var avoid = AvoidIndices(graph, s.AvoidEdges);
        var masks = graph.DestModules.Select(m => model.Masks[m.ModuleName]).ToList();
        var parameters = masks.Select(m => m as Parameter ?? throw new InvalidOperationException(
            $"Subnetwork probing trains the masks with Adam and needs them as Parameters; " +
            $"{model.GetType().Name}'s are plain tensors.")).ToList();

        var cleanLogits = new Dictionary<int, Tensor>();
        var ablations = model.BatchSourceAblations(batches, AblationType.TokenwiseMeanCorrupt, fromClean: false);
        using var avoidIndex = avoid.Length == 0 ? null : torch.tensor(avoid, device: model.Device);
        try
        {
            using (torch.no_grad())
            {
                foreach (var batch in batches)
                {
                    using var scope = torch.NewDisposeScope();
                    cleanLogits[batch.Key] = model.Run(batch.Clean).clone().DetachFromDisposeScope();
                }
            }

            model.SetAllMasks(s.TreeOptimisation ? s.InitVal : -s.InitVal);
            using var progress = context.Progress.Start(title, s.Epochs, "epoch", parent);
            using (model.TrainMaskMode())
            using (model.MaskFunctionMode(s.MaskFn, s.Dropout))
            using (var optimizer = new Adam(parameters, lr: s.LearningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8))
            {
                for (var epoch = 0; epoch < s.Epochs; epoch++)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                    Tensor? lastLoss = null;
                    foreach (var batch in batches)
                    {
                        using var scope = torch.NewDisposeScope();
                        using (model.PatchMode(ablations[batch.Key]))
                        {
                            var logits = model.Run(s.TreeOptimisation ? batch.Clean : batch.Corrupt);
                            var faithful = Faithfulness(s.Target, logits, cleanLogits[batch.Key], batch);
                            var flat = torch.cat(masks.Select(m => m.flatten()).ToList(), 0);
                            var weights = s.MaskFn switch
                            {
                                MaskFunction.HardConcrete => HardConcrete.Sample(flat, 1),
                                MaskFunction.Sigmoid => torch.sigmoid(flat),
                                _ => flat,
                            };
                            var nMask = s.TreeOptimisation ? nEdges - weights.sum() : weights.sum();
                            if (circuitSize is int size)
                            {
                                nMask = torch.nn.functional.relu(nMask - size);
                            }

                            var regularize = nMask / (circuitSize ?? nEdges);
                            if (avoidIndex is not null)
                            {
                                var weight = (s.TreeOptimisation ? -1 : 1) * s.AvoidLambda / avoid.Length;
                                var penalty = flat.index_select(0, avoidIndex);
                                if (s.MaskFn != MaskFunction.None)
                                {
                                    var shift = s.MaskFn == MaskFunction.HardConcrete ? RegularizeConst : 0.0;
                                    penalty = torch.sigmoid(penalty - shift);
                                }

                                regularize = regularize + (weight * penalty.sum());
                            }

                            var loss = faithful + (regularize * s.RegularizeLambda);
                            optimizer.zero_grad();
                            loss.backward();
                            optimizer.step();
                            lastLoss?.Dispose();
                            lastLoss = loss.detach().MoveToOuterDisposeScope();
                        }
                    }

                    if (lastLoss is not null)
                    {
                        progress.Describe($"{title}: loss {lastLoss.ToDouble():G4}");
                        lastLoss.Dispose();
                    }

                    progress.Advance();
                }
            }

            return Scores(model, masks, s.TreeOptimisation);
        }
        finally
        {
            foreach (var t in ablations.Values.Concat(cleanLogits.Values))
            {
                t.Dispose();
            }

            model.SetAllMasks(0);
        }
    }

    /// <summary>The faithfulness term of the loss (differentiable except correct-percent).</summary>
    private static Tensor Faithfulness(ProbingTarget target, Tensor logits, Tensor clean, PromptBatch batch)
    {
        switch (target)
        {
            case ProbingTarget.KlDiv:
                {
                    using var input = torch.nn.functional.log_softmax(logits, -1);
                    using var reference = torch.nn.functional.log_softmax(clean, -1);
                    return AnswerMath.MultibatchKlDiv(input, reference);
                }

            case ProbingTarget.Mse:
                return Objective.AnswerMse(logits, batch);
            case ProbingTarget.CorrectPercent:
                return AnswerMath.CorrectAnswerProportion(logits, batch);
            case ProbingTarget.LogitDiffPercent:
                {
                    using var percents = AnswerMath.AnswerDiffPercents(logits, clean, batch);
                    using var gap = 100 - percents;
                    using var abs = gap.abs();
                    return abs.mean();
                }

            case ProbingTarget.Answer:
            case ProbingTarget.WrongAnswer:
                {
                    var wrong = target == ProbingTarget.WrongAnswer;
                    using var value = AnswerMath.AvgAnswerValue(logits, batch, wrongAnswers: wrong);
                    return value.neg();
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(target), target, null);
        }
    }

    /// <summary>
    /// <c>|min mask| + mask</c>, or <c>|max mask| − mask</c> under tree optimisation: ≥ 0, larger = in the circuit.
    /// </summary>
    private static PruneScores Scores(IPatchableModel model, List<Tensor> masks, bool tree)
    {
        using var _ = torch.no_grad();
        using var flat = torch.cat(masks.Select(m => m.detach().flatten()).ToList(), 0);
        using var extreme = tree ? flat.max() : flat.min();
        using var offset = extreme.abs();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var graph = model.Graph;
        for (var i = 0; i < masks.Count; i++)
        {
            using var mask = masks[i].detach();
            tensors[graph.DestModules[i].ModuleName] = tree ? offset - mask : offset + mask;
        }

        return PruneScores.FromTensors(graph, tensors);
    }

    /// <summary>
    /// Flat-order positions of the avoided edges (names <c>src->dest</c> for every position, or <c>src->dest@pos</c>).
    /// </summary>
    internal static long[] AvoidIndices(ModelGraph graph, IReadOnlyList<string> names)
    {
        var edges = new HashSet<Edge>();
        foreach (var raw in names)
        {
            var name = raw.Trim();
            var at = name.LastIndexOf('@');
            List<Edge> found;
            var suffix = at > 0 ? name[(at + 1)..] : string.Empty;
            if (int.TryParse(suffix, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pos))
            {
                found = graph.FindEdge(name[..at], pos) is { } e ? [e] : [];
            }
            else
            {
                found = graph.Edges.Where(e => e.Name == name).ToList();
            }

            if (found.Count == 0)
            {
                throw new ArgumentException(
                    $"avoid-edges: '{raw}' is not an edge of this graph " +
                    $"(write src->dest, e.g. '{graph.Edges[0].Name}'" +
                    (graph.SeqLen is null ? ")." : ", optionally @position)."));
            }

            edges.UnionWith(found);
        }

        return [.. edges.Select(e => EdgeIndex.Flat(graph, e)).Order()];
    }
}
