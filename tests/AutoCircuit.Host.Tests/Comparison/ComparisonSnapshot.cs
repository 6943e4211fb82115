using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Tests.Comparison;

/// <summary>
/// The text of a comparison snapshot: what a comparison decides (rankings, top edges, curves, areas, ROC, agreement),
/// never timings or memory. Written as JSON by hand so that a diff reads well: each algorithm's ranking comes first, one
/// edge per line in rank order (a moved edge shows as one removed and one added line), then the same edges' scores in
/// flat score order (ModelGraph.FlatEdges), then one line per curve.
/// </summary>
/// <remarks>
/// Numbers are rounded to <see cref="Digits"/> significant digits. Runs on one machine are bit-identical (seeded,
/// CPU, the tests' one intra-op thread; the snapshot test checks it by running twice), so the rounding only keeps the
/// files short and absorbs last-ulp differences between BLAS builds or thread counts.
/// </remarks>
internal static class ComparisonSnapshot
{
    public const int Digits = 5;

    public static string Render(string name, ComparisonResult result, int rankingLines)
    {
        var s = result.Subject;
        var alias = Aliases(result);
        var w = new Writer();
        w.Open("{");
        w.Field("case", name);
        w.Field("model", s.ModelDescription);
        w.Field("graph", $"{(s.Graph.IsFactorized ? "factorized" : "residual")}, {s.Graph.EdgeCount} edges" +
                         (s.Graph.SeqLen is int n ? $", {n} token positions" : string.Empty));
        w.Field("data", $"{s.TrainPrompts} train / {s.TestPrompts} test prompts, seed {s.Seed}");
        w.Field("evaluation", $"sizes {result.Settings.Evaluation.Edges}, ablation {result.Settings.Evaluation.Circuits.Ablation.ToCliName()}");
        w.Field("precision", $"{Digits} significant digits; curve values under {MetricFloor:G1} print as 0");
        w.Array("known_circuit", s.KnownEdges is null ? [] : s.KnownEdges.Select(e => e.ToString()).Order(StringComparer.Ordinal));
        w.Open("\"algorithms\": [");
        foreach (var a in result.Algorithms)
        {
            w.Open("{");
            w.Field("algorithm", alias[a.Label]);
            w.Field("spec", a.Spec ?? a.Label);
            w.Field("options", string.Join(", ", a.Options.Select(o => $"{o.Key}={Value(o.Value)}")));
            if (a.Flat is not { } flat)
            {
                w.Field("error", a.Error ?? "no scores", last: true);
                w.Close("}");
                continue;
            }

            // The ranking lists edges only, so that an edge that moved is one removed and one added line in a diff; the
            // scores of the same edges follow in flat score order, so that a changed score is one changed line in place.
            var edges = flat.Graph.FlatEdges;
            var top = flat.Order.Take(rankingLines).ToList();
            var width = top.Max(i => edges[i].ToString().Length);
            w.Array(
                $"ranking (top {top.Count} of {flat.Values.Count}, |score| descending, ties in flat score order)",
                top.Select(i => edges[i].ToString()));
            w.Array("scores (the same edges in flat score order)", top.Order().Select(i => $"{edges[i].ToString().PadRight(width)}  {Number(flat.Values[i])}"));
            foreach (var (pt, e) in a.Evaluations.OrderBy(kv => kv.Key))
            {
                var label = EvaluationNames.PatchTypeName(pt);
                w.Open($"\"{label}_patch\": {{");
                w.Field("sizes (requested:patched)", string.Join(" ", e.Results.Select(r => r.Requested == r.Edges
                    ? r.Requested.ToString(CultureInfo.InvariantCulture)
                    : $"{r.Requested}:{r.Edges}")));
                foreach (var m in result.Settings.Metrics.Append(PruneMetric.CleanKlDiv).Distinct())
                {
                    w.Field(m.Key, string.Join(" ", e.Results.Select(r => MetricNumber(r.Metrics[m.Key]))));
                }

                w.Field("auc", string.Join(", ", PruneMetric.All.Select(m => $"{m.Key} {Number(e.Auc.TryGetValue(m.Key, out var v) ? v : null)}")), last: true);
                w.Close("},");
            }

            w.Field("roc_auc", a.Roc is { } roc ? $"{Number(roc.Auc)} (pessimistic {Number(roc.PessimisticAuc)})" : "none", last: true);
            w.Close("},");
        }

        w.Close("],");
        w.Open("\"agreement\": {");
        w.Field("ks", string.Join(" ", result.Agreement.Ks));
        w.Array(
            "pairs (spearman; per k: shared/jaccard)",
            result.Agreement.Pairs.Select(p =>
                $"{alias[p.A]} ~ {alias[p.B]}: {Number(p.Spearman)}; " + string.Join(", ", p.TopK.Select(o => $"k={o.K} {o.Shared}/{Number(o.Jaccard)}"))),
            last: true);
        w.Close("}");
        w.Close("}");
        return w.ToString();
    }

    /// <summary>Short names for the diff: the key, numbered when it repeats (the spec is in each algorithm's entry).</summary>
    private static Dictionary<string, string> Aliases(ComparisonResult result)
    {
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in result.Algorithms)
        {
            var key = a.Key ?? a.Label;
            var alias = key;
            for (var i = 2; !used.Add(alias); i++)
            {
                alias = $"{key} #{i}";
            }

            aliases[a.Label] = alias;
        }

        return aliases;
    }

    private static string Value(object? value) => value switch
    {
        null => "null",
        double d => Number(d),
        float f => Number(f),
        _ => JsonSerializer.Serialize(value, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).Trim('"'),
    };

    /// <summary><see cref="Digits"/> significant digits, a sign on nonzero values; <c>null</c>/NaN/infinities by name.</summary>
    public static string Number(double? value) => value switch
    {
        null => "null",
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        double v when double.IsNaN(v) => "nan",
        double v => v.ToString("G" + Digits, CultureInfo.InvariantCulture),
    };

    private static string Number(float value) => Number((double)value);

    /// <summary>
    /// A metric value on a curve: as <see cref="Number(double?)"/>, except that magnitudes under
    /// <see cref="MetricFloor"/> print as <c>0</c>. The metrics are computed from float32 logits, whose log-softmax
    /// differences carry about 1e-7 relative error, so e.g. a KL divergence of 3e-10 is rounding noise whose digits
    /// change with the order of a sum (the engine's fused matrix products); a real change is far above the floor.
    /// </summary>
    private static string MetricNumber(double value) => Math.Abs(value) < MetricFloor ? "0" : Number(value);

    /// <summary>See <see cref="MetricNumber"/>.</summary>
    public const double MetricFloor = 1e-6;

    /// <summary>Indented JSON, one value per line, commas handled by the caller's <c>last</c> flags.</summary>
    private sealed class Writer
    {
        private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        private readonly StringBuilder _sb = new();
        private int _depth;

        public void Open(string text)
        {
            Line(text);
            _depth++;
        }

        public void Close(string text)
        {
            _depth--;
            Line(text);
        }

        public void Field(string name, string value, bool last = false) =>
            Line($"{Json(name)}: {Json(value)}{(last ? string.Empty : ",")}");

        public void Array(string name, IEnumerable<string> items, bool last = false)
        {
            var list = items.ToList();
            if (list.Count == 0)
            {
                Line($"{Json(name)}: []{(last ? string.Empty : ",")}");
                return;
            }

            Open($"{Json(name)}: [");
            for (var i = 0; i < list.Count; i++)
            {
                Line(Json(list[i]) + (i == list.Count - 1 ? string.Empty : ","));
            }

            Close("]" + (last ? string.Empty : ","));
        }

        public override string ToString() => Fix(_sb.ToString());

        /// <summary>A JSON string that keeps <c>-&gt;</c>, quotes aside, as written (readable diffs).</summary>
        private static string Json(string text) => JsonSerializer.Serialize(text, Options);

        private void Line(string text) => _sb.Append(' ', _depth * 2).Append(text).Append('\n');

        /// <summary>Drops the comma before a closing bracket, so that the text is valid JSON.</summary>
        private static string Fix(string text)
        {
            var lines = text.Split('\n').ToList();
            for (var i = 0; i + 1 < lines.Count; i++)
            {
                var next = lines[i + 1].TrimStart();
                if (lines[i].EndsWith(',') && (next.StartsWith('}') || next.StartsWith(']')))
                {
                    lines[i] = lines[i][..^1];
                }
            }

            return string.Join('\n', lines);
        }
    }
}
