using System.Globalization;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// The files of a comparison: the parts of <c>compare.json</c> (everything, for programs; assembled by the compare job),
/// <c>compare.csv</c> (one summary row per algorithm, for spreadsheets) and the Markdown summary printed on stdout.
/// </summary>
internal static class ComparisonFiles
{
    /// <summary>The <c>"graph"</c> object of <c>compare.json</c>.</summary>
    public static CompareFileGraph Graph(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var g = result.Subject.Graph;
        return new CompareFileGraph
        {
            Factorized = g.IsFactorized,
            SeqLen = g.SeqLen,
            Srcs = g.Srcs.Count,
            Dests = g.Dests.Count,
            Edges = g.EdgeCount,
        };
    }

    /// <summary>The <c>"known_circuit"</c> object of <c>compare.json</c>, or <c>null</c>.</summary>
    public static CompareFileKnownCircuit? KnownCircuit(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = result.Subject;
        return s.KnownEdges is null ? null : new CompareFileKnownCircuit { Source = s.KnownCircuitSource, Edges = s.KnownEdges.Count };
    }

    /// <summary>The <c>"agreement"</c> object of <c>compare.json</c> (an undefined correlation is <c>null</c>).</summary>
    public static CompareFileAgreement Agreement(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new CompareFileAgreement
        {
            Ks = result.Agreement.Ks,
            Pairs = result.Agreement.Pairs.Select(p => new CompareFileAgreementPair
            {
                A = p.A,
                B = p.B,
                Spearman = Finite(p.Spearman),
                TopK = p.TopK.Select(o => new CompareFileTopKOverlap
                {
                    K = o.K,
                    SizeA = o.SizeA,
                    SizeB = o.SizeB,
                    Shared = o.Shared,
                    Jaccard = o.Jaccard,
                }).ToList(),
            }).ToList(),
        };
    }

    /// <summary>An algorithm's entry in <c>compare.json</c> (non-finite numbers become <c>null</c>).</summary>
    public static CompareFileAlgorithm Algorithm(ComparisonResult result, ComparedAlgorithm a)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(a);
        return new CompareFileAlgorithm
        {
            Label = a.Label,
            Key = a.Key,
            Name = a.Name,
            Spec = a.Spec,
            Origin = a.Origin,
            ScoresFile = a.ScoresPath,
            ScoresFormat = a.ScoresFormat?.ToString().ToLowerInvariant(),
            Options = OptionValues.ToJson(a.Options),
            Status = a.Succeeded ? AlgorithmStatus.Ok : AlgorithmStatus.Failed,
            Error = a.Error,
            Seconds = a.Usage is { } u ? Math.Round(u.Wall.TotalSeconds, 4) : null,
            PeakRssDeltaBytes = a.Usage?.PeakRssDeltaBytes,
            ManagedAllocatedBytes = a.Usage?.ManagedAllocatedBytes,
            Files = a.Files,
            TopEdges = a.Flat is { } flat
                ? flat.Order.Take(result.Settings.TopEdges).Select((i, r) => new CompareFileTopEdge
                {
                    Rank = r + 1,
                    Edge = flat.Graph.FlatEdges[i].Name,
                    Position = flat.Graph.FlatEdges[i].SeqIndex,
                    Score = flat.Values[i],
                }).ToList()
                : null,
            EdgePatch = PatchEvaluation(result, a, PatchType.EdgePatch),
            TreePatch = PatchEvaluation(result, a, PatchType.TreePatch),
            Roc = a.Roc is { } roc ? CircuitsFile.Roc(roc) : null,
        };
    }

    /// <summary>
    /// <c>compare.csv</c>: <c>algorithm,status,seconds,peak_rss_delta_bytes,managed_allocated_bytes,roc_auc,</c> then
    /// <c>auc_&lt;patch&gt;_&lt;metric&gt;</c> for every patch type and every metric.
    /// </summary>
    public static string ToCsv(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder("algorithm,status,seconds,peak_rss_delta_bytes,managed_allocated_bytes,roc_auc");
        foreach (var pt in result.Settings.PatchTypes)
        {
            foreach (var m in PruneMetric.All)
            {
                sb.Append(CultureInfo.InvariantCulture, $",auc_{EvaluationNames.PatchTypeName(pt)}_{m.Key}");
            }
        }

        sb.Append('\n');
        foreach (var a in result.Algorithms)
        {
            sb.Append(Csv(a.Label)).Append(',').Append(a.Succeeded ? "ok" : "failed").Append(',')
                .Append(a.Usage is { } u ? u.Wall.TotalSeconds.ToString("0.####", CultureInfo.InvariantCulture) : string.Empty).Append(',')
                .Append(a.Usage?.PeakRssDeltaBytes?.ToString(CultureInfo.InvariantCulture) ?? string.Empty).Append(',')
                .Append(a.Usage?.ManagedAllocatedBytes.ToString(CultureInfo.InvariantCulture) ?? string.Empty).Append(',')
                .Append(Number(a.Roc?.Auc));
            foreach (var pt in result.Settings.PatchTypes)
            {
                foreach (var m in PruneMetric.All)
                {
                    sb.Append(',').Append(Number(ComparisonResult.Auc(a, pt, m)));
                }
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>The Markdown summary: a table per algorithm and the agreement matrix.</summary>
    public static string ToMarkdown(ComparisonResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = result.Subject;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"## Comparison: {s.ModelDescription}, {s.Graph.EdgeCount} edges, {s.TestPrompts} test prompts\n\n");
        sb.Append("| algorithm | time (s) | peak RSS Δ (MiB) |");
        var columns = new List<(PatchType Pt, PruneMetric M)>();
        foreach (var pt in result.Settings.PatchTypes)
        {
            foreach (var m in result.Settings.Metrics)
            {
                columns.Add((pt, m));
                sb.Append(CultureInfo.InvariantCulture, $" AUC {m.Key} ({EvaluationNames.PatchTypeName(pt)}) |");
            }
        }

        if (s.KnownEdges is not null)
        {
            sb.Append(" ROC AUC |");
        }

        sb.Append(" top edges |\n|---|---:|---:|");
        sb.Append(string.Concat(Enumerable.Repeat("---:|", columns.Count + (s.KnownEdges is null ? 0 : 1))));
        sb.Append("---|\n");
        foreach (var a in result.Algorithms)
        {
            sb.Append(CultureInfo.InvariantCulture, $"| {Md(a.Label)} | ");
            sb.Append(a.Usage is { } u ? Svg.Format(u.Wall.TotalSeconds, 3) : "–").Append(" | ");
            sb.Append(a.Usage?.PeakRssDeltaBytes is long p ? Svg.Format(p / 1048576.0, 3) : "–").Append(" |");
            foreach (var (pt, m) in columns)
            {
                sb.Append(' ').Append(Show(ComparisonResult.Auc(a, pt, m))).Append(" |");
            }

            if (s.KnownEdges is not null)
            {
                sb.Append(' ').Append(Show(a.Roc?.Auc)).Append(" |");
            }

            if (a.Flat is { } flat)
            {
                var top = flat.Order.Take(3).Select(i => Md(flat.Graph.FlatEdges[i].ToString()));
                sb.Append(' ').Append(string.Join(", ", top)).Append(" |\n");
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $" failed: {Md(a.Error ?? "no scores")} |\n");
            }
        }

        foreach (var pt in result.Settings.PatchTypes)
        {
            var mib = result.Algorithms.Where(a => a.Evaluations.TryGetValue(pt, out var e) && e.Mib is not null).ToList();
            if (mib.Count == 0)
            {
                continue;
            }

            sb.Append(CultureInfo.InvariantCulture,
                $"\nMIB circuit track ({EvaluationNames.PatchTypeName(pt)} patch; faithfulness of {mib[0].Evaluations[pt].Mib!.Metric}):\n\n");
            sb.Append("| algorithm | CPR (higher is better) | CMD (lower is better) | time (s) |\n|---|---:|---:|---:|\n");
            foreach (var a in mib)
            {
                var m = a.Evaluations[pt].Mib!;
                var iv = a.Evaluations[pt].Bootstrap?.Mib;
                sb.Append(CultureInfo.InvariantCulture, $"| {Md(a.Label)} | {Show(m.Cpr)}{Ci(iv?.Cpr)} | {Show(m.Cmd)}{Ci(iv?.Cmd)} | ");
                sb.Append(a.Usage is { } u ? Svg.Format(u.Wall.TotalSeconds, 3) : "–").Append(" |\n");
            }
        }

        var labels = result.Algorithms.Where(a => a.Flat is not null).Select(a => a.Label).ToList();
        if (labels.Count >= 2)
        {
            sb.Append("\nSpearman rank correlation of |score|:\n\n| |");
            foreach (var l in labels)
            {
                sb.Append(' ').Append(Md(l)).Append(" |");
            }

            sb.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", labels.Count))).Append('\n');
            foreach (var a in labels)
            {
                sb.Append("| ").Append(Md(a)).Append(" |");
                foreach (var b in labels)
                {
                    sb.Append(' ').Append(a == b ? "1" : Show(result.Agreement.For(a, b)?.Spearman, 3)).Append(" |");
                }

                sb.Append('\n');
            }
        }

        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>An algorithm's circuits under one patch type, or <c>null</c> when they were not evaluated.</summary>
    private static CompareFilePatchEvaluation? PatchEvaluation(ComparisonResult result, ComparedAlgorithm a, PatchType pt) =>
        a.Evaluations.TryGetValue(pt, out var e)
            ? new CompareFilePatchEvaluation
            {
                Results = e.Results.Select(CircuitsFile.SizeResult).ToList(),
                Auc = CircuitsFile.Areas(e.Auc),
                AucVsRandom = result.Algorithms.Any(x => x.Key == "random" && x.Succeeded)
                    ? PruneMetric.All.ToDictionary(m => m.Key, m => Finite(result.AucVersusRandom(a, pt, m)), StringComparer.Ordinal)
                    : null,
            }
            : null;

    private static double? Finite(double? v) => v is double d && double.IsFinite(d) ? d : null;

    private static string Number(double? v) =>
        v is double d && double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : string.Empty;

    private static string Ci(Interval? iv) => iv is { } v ? $" [{Show(v.Low)}, {Show(v.High)}]" : string.Empty;

    private static string Show(double? v, int digits = 4) => v is double d && double.IsFinite(d) ? Svg.Format(d, digits) : "–";

    private static string Md(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
