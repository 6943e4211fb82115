using System.Globalization;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// <c>report.html</c>: one self-contained page (inline CSS, SVG and one inline script; no fonts, images or scripts from
/// the network) with the summary table, the faithfulness curves per metric and patch type, the ROC curves, the agreement
/// of the algorithms, the interactive circuit explorer (<see cref="CircuitExplorer"/>), and each algorithm's static
/// circuit diagram and top edges.
/// </summary>
public static class HtmlReport
{
    private const string Css = """
        body { font-family: sans-serif; margin: 24px auto; max-width: 1440px; color: #222; padding: 0 16px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 18px 0 6px; }
        table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
        th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f3f4f6; }
        td.l, th.l { text-align: left; } .muted { color: #666; font-size: 12px; } .err { color: #b00020; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; } .scroll { overflow-x: auto; }
        .cards { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
        .card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px 10px 8px; max-width: 100%; box-sizing: border-box;
          flex: 1 1 560px; min-width: 0; }
        svg.diagram { max-width: 100%; height: auto; display: block; }
        sup { font-size: 10px; }
        .card p.muted { max-width: 640px; overflow-wrap: anywhere; }
        .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
        dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; font-size: 13px; } dt { color: #555; } dd { margin: 0; }
        details { margin: 10px 0; } summary { cursor: pointer; font-weight: bold; }
        code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
        p.note { font-size: 13px; max-width: 1100px; background: #fffbe6; border-left: 3px solid #e6c200; padding: 6px 10px; }
        """;

    /// <summary>The page for a comparison.</summary>
    /// <param name="result">The comparison.</param>
    /// <param name="title">Page title, e.g. <c>compare</c> or <c>run</c>.</param>
    /// <param name="commandLine">The command line, shown at the top.</param>
    public static string Render(ComparisonResult result, string title, IReadOnlyList<string>? commandLine = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = result.Subject;
        var colors = AlgorithmColors.Assign(result.Algorithms.Select(a => (a.Label, a.Key)));
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{Svg.Escape(title)}: {Svg.Escape(s.ModelDescription)}</title>");
        sb.Append("<style>").Append(Css).Append(CircuitExplorer.Css).Append("</style></head><body>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<h1>AutoCircuit {Svg.Escape(title)}: {Svg.Escape(s.ModelDescription)}</h1>\n");
        sb.Append("<dl>");
        Item(sb, "model", s.ModelSpec);
        Item(sb, "dataset", s.Dataset);
        Item(sb, "graph", $"{(s.Graph.IsFactorized ? "factorized" : "residual")}, {s.Graph.Srcs.Count} sources, {s.Graph.Dests.Count} " +
                           $"destinations, {s.Graph.EdgeCount} edges" + (s.Graph.SeqLen is int n ? $", {n} token positions" : string.Empty));
        Item(sb, "prompts", $"{s.TrainPrompts} train (algorithms), {s.TestPrompts} test (circuit evaluation)");
        var ev = result.Settings.Evaluation;
        Item(sb, "evaluation", $"circuit sizes {ev.Edges}, ablation {ev.Circuits.Ablation.ToCliName()}" +
                               (ev.Circuits.ReverseCleanCorrupt ? ", clean and corrupt reversed" : string.Empty));
        Item(sb, "known circuit", s.KnownEdges is null ? "none (no ROC curve)" : $"{s.KnownEdges.Count} edges ({s.KnownCircuitSource})");
        Item(sb, "seed, device", $"{s.Seed}, {s.Device}");
        if (commandLine is { Count: > 0 })
        {
            Item(sb, "command", "dotnet autocircuit " + string.Join(" ", commandLine.Select(Quote)));
        }

        sb.Append("</dl>\n");

        Summary(sb, result, colors);
        Curves(sb, result, colors);
        RocSection(sb, result, colors);
        AgreementSection(sb, result);
        var explorer = CircuitExplorer.Render(
            result.Algorithms.Where(a => a.Flat is not null).Select(a => new ExplorerAlgorithm(a.Label, colors[a.Label], a.Flat!)).ToList(),
            s.Graph, s.SeqLabels, s.KnownEdges, result.Settings.DiagramEdges);
        sb.Append(explorer.Length == 0 ? string.Empty : "<h2>Circuit explorer</h2>\n" + explorer);
        Diagrams(sb, result);
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">Memory: {Svg.Escape(ResourceUsage.Description)}</p>\n");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>Writes the page.</summary>
    public static void Write(string path, ComparisonResult result, string title, IReadOnlyList<string>? commandLine = null) =>
        File.WriteAllText(path, Render(result, title, commandLine), new UTF8Encoding(false));

    private static void Summary(StringBuilder sb, ComparisonResult result, Dictionary<string, string> colors)
    {
        sb.Append("<h2>Summary</h2>\n<div class=\"scroll\"><table><tr><th class=\"l\">algorithm</th><th>time (s)</th>" +
                  "<th>peak RSS Δ (MiB)</th><th>managed alloc (MiB)</th>");
        foreach (var pt in result.Settings.PatchTypes)
        {
            foreach (var m in result.Settings.Metrics)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<th>AUC, log edges<sup>1</sup><br>{Svg.Escape(m.Key)} ({EvaluationNames.PatchTypeName(pt)} patch)</th>" +
                    $"<th>mean over sizes<sup>2</sup><br>{Svg.Escape(m.Key)} ({EvaluationNames.PatchTypeName(pt)} patch)</th>");
            }
        }

        var hasRandom = result.Algorithms.Any(a => a.Key == "random" && a.Succeeded);
        if (hasRandom)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<th>AUC ÷ random<sup>3</sup><br>({Svg.Escape(result.Settings.Metrics[0].Key)}, {EvaluationNames.PatchTypeName(result.Settings.PatchTypes[0])})</th>");
        }

        if (result.Subject.KnownEdges is not null)
        {
            sb.Append("<th>ROC AUC</th>");
        }

        sb.Append("</tr>\n");
        foreach (var a in result.Algorithms)
        {
            var from = a.ScoresPath is null ? string.Empty : $"<br><span class=\"muted\">scores from {Svg.Escape(Path.GetFileName(a.ScoresPath))}</span>";
            var failed = a.Error is null ? string.Empty : $"<br><span class=\"err\">failed: {Svg.Escape(a.Error)}</span>";
            sb.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"l\"><span class=\"swatch\" style=\"background:{colors[a.Label]}\"></span>{Svg.Escape(a.Label)}{from}{failed}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td>{(a.Usage is { } u ? Svg.Format(u.Wall.TotalSeconds, 3) : "–")}</td>");
            sb.Append(CultureInfo.InvariantCulture,
                $"<td>{(a.Usage?.PeakRssDeltaBytes is long p ? Svg.Format(p / 1048576.0, 3) : "–")}</td>");
            sb.Append(CultureInfo.InvariantCulture,
                $"<td>{(a.Usage is { } mu ? Svg.Format(mu.ManagedAllocatedBytes / 1048576.0, 3) : "–")}</td>");
            foreach (var pt in result.Settings.PatchTypes)
            {
                foreach (var m in result.Settings.Metrics)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<td>{Num(ComparisonResult.Auc(a, pt, m))}</td><td>{Num(Mean(a, pt, m))}</td>");
                }
            }

            if (hasRandom)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<td>{Num(result.AucVersusRandom(a, result.Settings.PatchTypes[0], result.Settings.Metrics[0]))}</td>");
            }

            if (result.Subject.KnownEdges is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<td>{Num(a.Roc?.Auc)}</td>");
            }

            sb.Append("</tr>\n");
        }

        sb.Append("</table></div>\n<p class=\"muted\"><sup>1</sup> auto-circuit's area under the metric-vs-edge-count curve " +
                  "(<code>measurements_auc</code>): on a log<sub>10</sub> edge axis, above the value at 0 edges; the segments " +
                  "that touch 0 edges have no length on that axis and are left out, so each curve counts from its smallest " +
                  "non-empty circuit. <sup>2</sup> The mean of the curve over circuit sizes on a linear edge axis, from 0 to all " +
                  $"{result.Subject.Graph.EdgeCount} edges, straight between the sizes evaluated (as drawn): every algorithm is " +
                  "measured over the same range. ");
        if (hasRandom)
        {
            sb.Append("<sup>3</sup> auto-circuit's normalisation of the log-axis area: random scores 1. ");
        }

        sb.Append("Time and memory are for scoring on the train split only.</p>\n");
        if (LogAxisNote(result) is { } note)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{note}</p>\n");
        }
    }

    /// <summary>The mean over sizes (<see cref="AreaUnderCurve.MeanOverSizes"/>) of an algorithm's curve.</summary>
    private static double? Mean(ComparedAlgorithm a, PatchType pt, PruneMetric m) =>
        a.Evaluations.TryGetValue(pt, out var e) ? AreaUnderCurve.MeanOverSizes(e.Curve(m)) : null;

    /// <summary>
    /// Why an algorithm whose smallest circuit is large (ground-truth: its known circuit) can have a smaller log-axis
    /// area than random although its curve is higher, in this report's numbers; <c>null</c> when no algorithm starts
    /// above one edge.
    /// </summary>
    private static string? LogAxisNote(ComparisonResult result)
    {
        var pt = result.Settings.PatchTypes[0];
        var m = result.Settings.Metrics[0];
        var late = result.Algorithms
            .Select(a => (Algorithm: a, First: a.Evaluations.TryGetValue(pt, out var e)
                ? e.Curve(m).Select(p => p.X).Where(x => x > 0).DefaultIfEmpty(0).Min()
                : 0))
            .Where(t => t.First > 1)
            .ToList();
        if (late.Count == 0)
        {
            return null;
        }

        var n = result.Subject.Graph.EdgeCount;
        var sb = new StringBuilder("Reading the log-axis AUC: ");
        sb.AppendJoin("; ", late.Select(t => $"{Svg.Escape(t.Algorithm.Label)}'s smallest non-empty circuit has {t.First:0} edges " +
                                             $"(its scores tie), so its log-axis area covers only {t.First:0} … {n} edges"));
        sb.Append(", while a curve with a circuit of 1 edge counts from there.");
        var random = result.Algorithms.FirstOrDefault(a => a.Key == "random" && a.Succeeded);
        if (random is not null && ComparisonResult.Auc(random, pt, m) is double rl && Mean(random, pt, m) is double rm)
        {
            foreach (var (a, _) in late)
            {
                if (ComparisonResult.Auc(a, pt, m) is double al && Mean(a, pt, m) is double am && al < rl && am > rm == !m.LowerBetter)
                {
                    sb.Append(CultureInfo.InvariantCulture,
                        $" That is why {Svg.Escape(a.Label)}'s log-axis AUC ({Num(al)}) is below random's ({Num(rl)}) " +
                        $"although its curve is {(m.LowerBetter ? "lower" : "higher")} on average: compare the means over sizes " +
                        $"({Num(am)} and {Num(rm)}).");
                }
            }
        }

        return sb.ToString();
    }

    private static void Curves(StringBuilder sb, ComparisonResult result, Dictionary<string, string> colors)
    {
        sb.Append("<h2>Faithfulness curves</h2>\n<p class=\"muted\">Each circuit is the k edges of largest |score| " +
                  "(more when scores tie); edge patch runs the corrupt prompt with the circuit's edges clean, tree patch the clean " +
                  "prompt with every other edge corrupt. The dotted line is the full model (100 %).</p>\n");
        var n = result.Subject.Graph.EdgeCount;
        foreach (var m in result.Settings.Metrics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<h3>{Svg.Escape(m.Name)} (<code>{Svg.Escape(m.Key)}</code>)</h3><div class=\"charts\">");
            foreach (var pt in result.Settings.PatchTypes)
            {
                var series = result.Algorithms.Where(a => a.Evaluations.ContainsKey(pt))
                    .Select(a => new ChartSeries(SeriesName(a, a.Evaluations[pt], m), colors[a.Label], a.Evaluations[pt].Curve(m)))
                    .ToList();
                if (series.Count == 0)
                {
                    continue;
                }

                var options = new ChartOptions
                {
                    Title = $"{EvaluationNames.PatchTypeName(pt)} patch",
                    XLabel = "edges in the circuit",
                    YLabel = m.Name,
                    XScale = n > 50 ? AxisScale.Log1p : AxisScale.Linear,
                    Width = 680,
                    LegendWidth = 250,
                    XRange = (0, n),
                    ReferenceY = m.Key.EndsWith("-percent", StringComparison.Ordinal) && !m.Key.StartsWith("correct", StringComparison.Ordinal)
                        ? 100 : null,
                };
                sb.Append(LineChart.Render(options, series));
            }

            sb.Append("</div>\n");
        }

        if (TiesNote(result) is { } ties)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{ties}</p>\n");
        }
    }

    /// <summary>The legend entry: the label, and the number of sizes when ties left fewer than were asked for (the note
    /// under the curves says why).</summary>
    private static string SeriesName(ComparedAlgorithm a, CircuitEvaluation e, PruneMetric m)
    {
        var sizes = e.Curve(m).Count;
        var requested = e.Results.Select(r => r.Requested).Distinct().Count();
        return sizes < requested ? $"{a.Label} ({sizes} {(sizes == 1 ? "size" : "sizes")})" : a.Label;
    }

    /// <summary>Which algorithms' tied scores allowed fewer circuit sizes than asked for, and why.</summary>
    private static string? TiesNote(ComparisonResult result)
    {
        var pt = result.Settings.PatchTypes[0];
        var m = result.Settings.Metrics[0];
        var tied = result.Algorithms
            .Where(a => a.Flat is not null && a.Evaluations.TryGetValue(pt, out var e) &&
                        e.Curve(m).Count < e.Results.Select(r => r.Requested).Distinct().Count())
            .ToList();
        if (tied.Count == 0)
        {
            return null;
        }

        var parts = tied.Select(a =>
        {
            var sizes = a.Evaluations[pt].Curve(m).Select(p => p.X.ToString("0", CultureInfo.InvariantCulture)).ToList();
            var values = a.Flat!.Values.Select(MathF.Abs).Distinct().Count();
            var shown = sizes.Count <= 8 ? string.Join(", ", sizes) : string.Join(", ", sizes.Take(4)) + ", …, " + sizes[^1];
            return $"{Svg.Escape(a.Label)}: {values} distinct |score| {(values == 1 ? "value" : "values")}, " +
                   $"{sizes.Count} {(sizes.Count == 1 ? "size" : "sizes")} ({shown})";
        });
        return "Tied scores: a circuit of k edges holds every edge whose |score| ties with the k-th largest, so scores with " +
               "few distinct values allow few circuit sizes, and the curve joins those: " + string.Join("; ", parts) + ".";
    }

    private static void RocSection(StringBuilder sb, ComparisonResult result, Dictionary<string, string> colors)
    {
        if (result.Subject.KnownEdges is null)
        {
            return;
        }

        sb.Append("<h2>ROC against the known circuit</h2>\n");
        var series = result.Algorithms.Where(a => a.Roc is not null)
            .Select(a => new ChartSeries($"{a.Label} (AUC {Svg.Format(a.Roc!.Auc, 3)})", colors[a.Label], a.Roc.Points.Select(p => (p.Fpr, p.Tpr)).ToList()))
            .ToList();
        sb.Append(LineChart.Render(
            new ChartOptions
            {
                Title = $"ROC: {result.Subject.KnownEdges.Count} known edges of {result.Subject.Graph.EdgeCount}",
                XLabel = "false positive rate",
                YLabel = "true positive rate",
                XRange = (0, 1),
                YRange = (0, 1),
                Diagonal = true,
                Height = 420,
                Width = 720,
                LegendWidth = 290,
            },
            series));
        sb.Append("<p class=\"muted\">One point per circuit size of the default sweep for each algorithm's scores, as " +
                  "auto-circuit's measure_task_roc; AUC is the trapezoidal area.</p>\n");
    }

    private static void AgreementSection(StringBuilder sb, ComparisonResult result)
    {
        var labels = result.Algorithms.Where(a => a.Flat is not null).Select(a => a.Label).ToList();
        if (labels.Count < 2)
        {
            return;
        }

        sb.Append("<h2>Agreement</h2>\n<h3>Spearman rank correlation of |score|</h3><div class=\"scroll\"><table><tr><th></th>");
        foreach (var l in labels)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<th>{Svg.Escape(l)}</th>");
        }

        sb.Append("</tr>\n");
        foreach (var a in labels)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><th class=\"l\">{Svg.Escape(a)}</th>");
            foreach (var b in labels)
            {
                double? rho = a == b ? 1 : result.Agreement.For(a, b)?.Spearman;
                sb.Append(CultureInfo.InvariantCulture, $"<td style=\"background:{Heat(rho)}\">{Num(rho, 3)}</td>");
            }

            sb.Append("</tr>\n");
        }

        sb.Append("</table></div>\n");
        if (result.Agreement.Ks.Count == 0)
        {
            return;
        }

        sb.Append("<h3>Top-k circuits: shared edges / Jaccard index</h3><div class=\"scroll\"><table><tr><th class=\"l\">pair</th>");
        foreach (var k in result.Agreement.Ks)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<th>k = {k}</th>");
        }

        sb.Append("</tr>\n");
        foreach (var p in result.Agreement.Pairs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"l\">{Svg.Escape(p.A)} · {Svg.Escape(p.B)}</td>");
            foreach (var o in p.TopK)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<td style=\"background:{Heat(o.Jaccard)}\" title=\"sizes {o.SizeA} and {o.SizeB}\">{o.Shared} / {Svg.Format(o.Jaccard, 3)}</td>");
            }

            sb.Append("</tr>\n");
        }

        sb.Append("</table></div>\n<p class=\"muted\">A circuit of size k holds every edge whose |score| is at least the " +
                  "k-th largest (ties can make it larger; hover a cell for both sizes).</p>\n");
    }

    private static void Diagrams(StringBuilder sb, ComparisonResult result)
    {
        sb.Append("<h2>Circuits</h2>\n<div class=\"cards\">\n");
        foreach (var a in result.Algorithms.Where(a => a.Flat is not null))
        {
            var flat = a.Flat!;
            var k = Math.Min(result.Settings.DiagramEdges, flat.Values.Count);
            sb.Append(CultureInfo.InvariantCulture, $"<div class=\"card\"><h3>{Svg.Escape(a.Label)}</h3>");
            if (a.Name is not null || a.Options.Count > 0)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<p class=\"muted\">{Svg.Escape(a.Name ?? a.Key)}{(a.Options.Count == 0 ? string.Empty : ": ")}" +
                    $"{Svg.Escape(string.Join(", ", a.Options.Select(o => $"{o.Key}={OptionValues.ToJsonText(o.Key, o.Value)}")))}</p>");
            }

            sb.Append(CircuitDiagram.Render(flat, k, $"{a.Label}: top {k} edges", result.Subject.SeqLabels, result.Subject.KnownEdges))
                .Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"<details><summary>top {Math.Min(result.Settings.TopEdges, flat.Values.Count)} edges</summary>");
            sb.Append("<table><tr><th>rank</th><th class=\"l\">edge</th><th>position</th><th>score</th></tr>");
            var rank = 1;
            var maxFloat = false;
            foreach (var i in flat.Order.Take(result.Settings.TopEdges))
            {
                var e = flat.Graph.FlatEdges[i];
                maxFloat |= NumberText.IsMaxFloat(flat.Values[i]);
                sb.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{rank++}</td><td class=\"l\">{Svg.Escape(e.Name)}</td><td>{(e.SeqIndex is int p ? p : "all")}</td>" +
                    $"<td>{Svg.Escape(NumberText.Score(flat.Values[i]))}</td></tr>");
            }

            sb.Append("</table>");
            if (maxFloat)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<p class=\"muted\">{Svg.Escape(NumberText.MaxFloatNote(a.Key))}</p>");
            }

            sb.Append("</details></div>\n");
        }

        sb.Append("</div>\n");
    }

    private static void Item(StringBuilder sb, string term, string value) =>
        sb.Append(CultureInfo.InvariantCulture, $"<dt>{Svg.Escape(term)}</dt><dd>{Svg.Escape(value)}</dd>");

    private static string Num(double? v, int digits = 4) => v is double d && double.IsFinite(d) ? Svg.Format(d, digits) : "–";

    /// <summary>A background for a value in [-1, 1]: blue for agreement, red for disagreement, white around 0.</summary>
    private static string Heat(double? v)
    {
        if (v is not double d || !double.IsFinite(d))
        {
            return "#fff";
        }

        d = Math.Clamp(d, -1, 1);
        var t = Math.Abs(d) * 0.55;
        var (r, g, b) = d >= 0 ? (1 - t, 1 - (t * 0.6), 1.0) : (1.0, 1 - (t * 0.8), 1 - (t * 0.8));
        return FormattableString.Invariant($"rgb({(int)(r * 255)},{(int)(g * 255)},{(int)(b * 255)})");
    }

    private static string Quote(string arg) => arg.Any(char.IsWhiteSpace) || arg.Length == 0 ? $"\"{arg}\"" : arg;
}
