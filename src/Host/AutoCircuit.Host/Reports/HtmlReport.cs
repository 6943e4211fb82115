using System.Globalization;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// <c>report.html</c>: one self-contained page (inline CSS and SVG; no script, no fonts or images from the network)
/// with the summary table, the faithfulness curves per metric and patch type, the ROC curves, the agreement of the
/// algorithms, and each algorithm's circuit diagram and top edges.
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
        .card { border: 1px solid #e3e3e3; border-radius: 6px; padding: 4px 10px 8px; max-width: 100%; box-sizing: border-box; }
        .card p.muted { max-width: 640px; overflow-wrap: anywhere; }
        .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
        dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; font-size: 13px; } dt { color: #555; } dd { margin: 0; }
        details { margin: 10px 0; } summary { cursor: pointer; font-weight: bold; }
        code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
        """;

    /// <summary>The page for a comparison.</summary>
    /// <param name="result">The comparison.</param>
    /// <param name="title">Page title, e.g. <c>compare</c> or <c>run</c>.</param>
    /// <param name="commandLine">The command line, shown at the top.</param>
    public static string Render(ComparisonResult result, string title, IReadOnlyList<string>? commandLine = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = result.Subject;
        var colors = result.Algorithms.Select((a, i) => (a.Label, Color: Svg.Palette[i % Svg.Palette.Count]))
            .ToDictionary(t => t.Label, t => t.Color, StringComparer.Ordinal);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{Svg.Escape(title)}: {Svg.Escape(s.ModelDescription)}</title>");
        sb.Append("<style>").Append(Css).Append("</style></head><body>\n");
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
                sb.Append(CultureInfo.InvariantCulture, $"<th>AUC {Svg.Escape(m.Key)}<br>({EvaluationNames.PatchTypeName(pt)} patch)</th>");
            }
        }

        var hasRandom = result.Algorithms.Any(a => a.Key == "random" && a.Succeeded);
        if (hasRandom)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<th>AUC ÷ random<br>({Svg.Escape(result.Settings.Metrics[0].Key)}, {EvaluationNames.PatchTypeName(result.Settings.PatchTypes[0])})</th>");
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
                    sb.Append(CultureInfo.InvariantCulture, $"<td>{Num(ComparisonResult.Auc(a, pt, m))}</td>");
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

        sb.Append("</table></div>\n<p class=\"muted\">AUC: auto-circuit's area under the metric-vs-edge-count curve " +
                  "(log edge axis, value at 0 edges as the baseline). Time and memory are for scoring on the train split only.</p>\n");
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
                    .Select(a => new ChartSeries(a.Label, colors[a.Label], a.Evaluations[pt].Curve(m)))
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
                    XRange = (0, n),
                    ReferenceY = m.Key.EndsWith("-percent", StringComparison.Ordinal) && !m.Key.StartsWith("correct", StringComparison.Ordinal)
                        ? 100 : null,
                };
                sb.Append(LineChart.Render(options, series));
            }

            sb.Append("</div>\n");
        }
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

            sb.Append("<div class=\"scroll\">")
                .Append(CircuitDiagram.Render(flat, k, $"{a.Label}: top {k} edges", result.Subject.SeqLabels, result.Subject.KnownEdges))
                .Append("</div>\n");
            sb.Append(CultureInfo.InvariantCulture, $"<details><summary>top {Math.Min(result.Settings.TopEdges, flat.Values.Count)} edges</summary>");
            sb.Append("<table><tr><th>rank</th><th class=\"l\">edge</th><th>position</th><th>score</th></tr>");
            var rank = 1;
            foreach (var i in flat.Order.Take(result.Settings.TopEdges))
            {
                var e = flat.Graph.FlatEdges[i];
                sb.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{rank++}</td><td class=\"l\">{Svg.Escape(e.Name)}</td><td>{(e.SeqIndex is int p ? p : "all")}</td>" +
                    $"<td>{Svg.Format(flat.Values[i], 5)}</td></tr>");
            }

            sb.Append("</table></details></div>\n");
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
