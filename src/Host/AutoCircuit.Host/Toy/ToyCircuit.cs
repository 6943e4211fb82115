using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Toy;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Toy;

/// <summary>
/// The known circuit of the toy model on its task. Its mechanism is the classic two-layer induction
/// circuit: a previous-token head in layer 0 (at the position after the first A, it attends to A and
/// writes "previous token is A") composes through its output with the keys of induction heads in layer
/// 1, whose query (the final A) matches that key, so they attend to B and copy it through their values
/// to the output. The task's corrupt prompt changes only B (to C), so the clean/corrupt difference flows
/// through the values: the token at the attended position enters the induction heads' V directly
/// (<c>Resid Start → A1.g.V</c>) and through the layer-0 heads' outputs at that position
/// (<c>Resid Start → A0.h.V</c>, <c>A0.h → A1.g.V</c>), and leaves through <c>A1.g → Resid End</c>.
/// That value path is the task's known circuit. The query/key half (<see cref="MatchPath"/>) carries the
/// same activations in clean and corrupt prompts, so resample patching cannot see it (measured as
/// <see cref="CircuitEvidence.MatchPathAlone"/>); the attention scores identify it instead.
/// </summary>
internal static class ToyCircuit
{
    /// <summary>Attention score from which a head counts as a previous-token or induction head.</summary>
    public const double HeadThreshold = 0.5;

    /// <summary>The heads whose scores reach <see cref="HeadThreshold"/>.</summary>
    public static InductionHeads IdentifyHeads(HeadScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var prev = Enumerable.Range(0, scores.PreviousToken[0].Length).Where(h => scores.PreviousToken[0][h] >= HeadThreshold).ToList();
        var induction = Enumerable.Range(0, scores.Induction[1].Length).Where(h => scores.Induction[1][h] >= HeadThreshold).ToList();
        return new InductionHeads(prev, induction);
    }

    /// <summary>The value path of the induction heads (the task's known circuit), as edge names.</summary>
    public static IReadOnlyList<string> ValuePath(int heads, InductionHeads found)
    {
        ArgumentNullException.ThrowIfNull(found);
        var edges = new List<string>();
        for (var h = 0; h < heads; h++)
        {
            edges.Add($"Resid Start->A0.{h}.V");
        }

        foreach (var g in found.Induction)
        {
            edges.Add($"Resid Start->A1.{g}.V");
            for (var h = 0; h < heads; h++)
            {
                edges.Add($"A0.{h}->A1.{g}.V");
            }

            edges.Add($"A1.{g}->Resid End");
        }

        return edges;
    }

    /// <summary>
    /// The query/key half of the mechanism: the previous-token heads' position-based attention
    /// (<c>Resid Start → A0.p.Q|K</c>), their composition with the induction heads' keys
    /// (<c>A0.p → A1.g.K</c>) and the induction heads' queries (<c>Resid Start → A1.g.Q</c>).
    /// </summary>
    public static IReadOnlyList<string> MatchPath(InductionHeads found)
    {
        ArgumentNullException.ThrowIfNull(found);
        var edges = new List<string>();
        foreach (var p in found.PreviousToken)
        {
            edges.Add($"Resid Start->A0.{p}.Q");
            edges.Add($"Resid Start->A0.{p}.K");
        }

        foreach (var g in found.Induction)
        {
            edges.Add($"Resid Start->A1.{g}.Q");
            edges.AddRange(found.PreviousToken.Select(p => $"A0.{p}->A1.{g}.K"));
        }

        return edges;
    }

    /// <summary>
    /// Measures <paramref name="circuit"/> with the evaluation engine (resample ablation, factorized graph with
    /// separate Q/K/V) on <paramref name="prompts"/> in batches of <paramref name="batchSize"/>.
    /// </summary>
    public static CircuitEvidence Verify(
        Transformer model, IReadOnlyList<string> circuit, IReadOnlyList<string> matchPath, InductionBatch prompts, int batchSize = 128)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(circuit);
        ArgumentNullException.ThrowIfNull(matchPath);
        ArgumentNullException.ThrowIfNull(prompts);
        var batches = Batches(prompts, batchSize);
        try
        {
            using var patchable = PatchableModel.Create(model, new GraphOptions());
            var graph = patchable.Graph;
            var inCircuit = Resolve(graph, circuit);
            var complement = graph.Edges.Where(e => !inCircuit.Contains(e)).ToHashSet();
            var match = Resolve(graph, matchPath);
            double Percent(IReadOnlySet<Edge> edges, PatchType type, AblationType ablation = AblationType.Resample)
            {
                using var scores = patchable.NewPruneScores();
                foreach (var e in edges)
                {
                    scores.Set(e, 1.0);
                }

                var evaluation = CircuitEvaluator.Evaluate(
                    patchable, batches, scores, [edges.Count], new CircuitRunOptions(type, ablation));
                return evaluation.Results[0].Metrics[PruneMetric.LogitDiffPercent.Key];
            }

            return new CircuitEvidence(
                Percent(inCircuit, PatchType.EdgePatch),
                Percent(inCircuit, PatchType.TreePatch),
                Percent(complement, PatchType.EdgePatch),
                Percent(complement, PatchType.TreePatch),
                Percent(match, PatchType.EdgePatch),
                Percent(graph.Edges.Where(e => !match.Contains(e)).ToHashSet(), PatchType.TreePatch, AblationType.TokenwiseMeanClean),
                Percent(new HashSet<Edge>(), PatchType.EdgePatch));
        }
        finally
        {
            foreach (var b in batches)
            {
                b.Dispose();
            }
        }
    }

    /// <summary>Edge names resolved in a graph (every token position when the graph has them).</summary>
    public static HashSet<Edge> Resolve(ModelGraph graph, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(names);
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        var edges = graph.Edges.Where(e => wanted.Contains(e.Name)).ToHashSet();
        var missing = wanted.Except(edges.Select(e => e.Name), StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"Not edges of the graph: {string.Join(", ", missing)}.", nameof(names));
        }

        return edges;
    }

    private static List<PromptBatch> Batches(InductionBatch prompts, int batchSize)
    {
        var batches = new List<PromptBatch>();
        for (long start = 0, key = 0; start + batchSize <= prompts.Count; start += batchSize, key++)
        {
            batches.Add(new PromptBatch(
                (int)key,
                prompts.Clean.narrow(0, start, batchSize).clone(),
                prompts.Corrupt.narrow(0, start, batchSize).clone(),
                new AnswerSet(prompts.Answer.narrow(0, start, batchSize).unsqueeze(1).clone()),
                new AnswerSet(prompts.Wrong.narrow(0, start, batchSize).unsqueeze(1).clone())));
        }

        return batches;
    }
}
