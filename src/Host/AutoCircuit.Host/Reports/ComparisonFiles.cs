using System.Globalization;
using System.Text;
using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// The files of a comparison: <c>compare.json</c> (everything, for programs), <c>compare.csv</c> (one summary row per
/// algorithm, for spreadsheets) and the Markdown summary printed on stdout.
/// </summary>
public static class ComparisonFiles
{
    /// <summary>The <c>compare.json</c> document (non-finite numbers become <c>null</c>).</summary>
    public static Dictionary<string, object?> ToJson(ComparisonResult result, IReadOnlyDictionary<string, object?> header)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(header);
        var s = result.Subject;
        var doc = new Dictionary<string, object?>(header);
        doc["graph"] = new Dictionary<string, object?>
        {
            ["factorized"] = s.Graph.IsFactorized,
            ["seq_len"] = s.Graph.SeqLen,
            ["srcs"] = s.Graph.Srcs.Count,
            ["dests"] = s.Graph.Dests.Count,
            ["edges"] = s.Graph.EdgeCount,
        };
        doc["known_circuit"] = s.KnownEdges is null
            ? null
            : new Dictionary<string, object?> { ["source"] = s.KnownCircuitSource, ["edges"] = s.KnownEdges.Count };
        doc["metrics"] = result.Settings.Metrics.Select(m => m.Key).ToList();
        doc["patch_types"] = result.Settings.PatchTypes.Select(EvaluationNames.PatchTypeName).ToList();
        doc["memory_measure"] = ResourceUsage.Description;
        doc["algorithms"] = result.Algorithms.Select(a => AlgorithmJson(result, a)).ToList();
        doc["agreement"] = new Dictionary<string, object?>
        {
            ["ks"] = result.Agreement.Ks,
            ["pairs"] = result.Agreement.Pairs.Select(p => new Dictionary<string, object?>
            {
                ["a"] = p.A,
                ["b"] = p.B,
                ["spearman"] = Finite(p.Spearman),
                ["top_k"] = p.TopK.Select(o => new Dictionary<string, object?>
                {
                    ["k"] = o.K,
                    ["size_a"] = o.SizeA,
                    ["size_b"] = o.SizeB,
                    ["shared"] = o.Shared,
                    ["jaccard"] = o.Jaccard,
                }).ToList(),
            }).ToList(),
        };
        return doc;
    }

    /// <summary>Writes <c>compare.json</c>.</summary>
    public static void WriteJson(string path, ComparisonResult result, IReadOnlyDictionary<string, object?> header)
    {
        using var fs = File.Create(path);
        JsonSerializer.Serialize(fs, ToJson(result, header), new JsonSerializerOptions { WriteIndented = true });
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

    private static Dictionary<string, object?> AlgorithmJson(ComparisonResult result, ComparedAlgorithm a)
    {
        var json = new Dictionary<string, object?>
        {
            ["label"] = a.Label,
            ["key"] = a.Key,
            ["name"] = a.Name,
            ["spec"] = a.Spec,
            ["origin"] = a.Origin,
            ["scores_file"] = a.ScoresPath,
            ["scores_format"] = a.ScoresFormat?.ToString().ToLowerInvariant(),
            ["options"] = a.Options,
            ["status"] = a.Succeeded ? "ok" : "failed",
            ["error"] = a.Error,
            ["seconds"] = a.Usage is { } u ? Math.Round(u.Wall.TotalSeconds, 4) : null,
            ["peak_rss_delta_bytes"] = a.Usage?.PeakRssDeltaBytes,
            ["managed_allocated_bytes"] = a.Usage?.ManagedAllocatedBytes,
            ["files"] = a.Files,
        };
        if (a.Flat is { } flat)
        {
            json["top_edges"] = flat.Order.Take(result.Settings.TopEdges).Select((i, r) => new Dictionary<string, object?>
            {
                ["rank"] = r + 1,
                ["edge"] = flat.Graph.FlatEdges[i].Name,
                ["position"] = flat.Graph.FlatEdges[i].SeqIndex,
                ["score"] = (double)flat.Values[i],
            }).ToList();
        }

        foreach (var (pt, e) in a.Evaluations)
        {
            json[$"{EvaluationNames.PatchTypeName(pt)}_patch"] = new Dictionary<string, object?>
            {
                ["results"] = e.Results.Select(r => new Dictionary<string, object?>
                {
                    ["requested"] = r.Requested,
                    ["edges"] = r.Edges,
                    ["metrics"] = PruneMetric.All.ToDictionary(m => m.Key, m => Finite(r.Metrics[m.Key])),
                }).ToList(),
                ["auc"] = PruneMetric.All.ToDictionary(m => m.Key, m => Finite(e.Auc.TryGetValue(m.Key, out var v) ? v : null)),
                ["auc_vs_random"] = result.Algorithms.Any(x => x.Key == "random" && x.Succeeded)
                    ? PruneMetric.All.ToDictionary(m => m.Key, m => Finite(result.AucVersusRandom(a, pt, m)))
                    : null,
            };
        }

        if (a.Roc is { } roc)
        {
            json["roc"] = new Dictionary<string, object?>
            {
                ["auc"] = roc.Auc,
                ["pessimistic_auc"] = roc.PessimisticAuc,
                ["edge_counts"] = roc.EdgeCounts,
                ["points"] = roc.Points.Select(p => new[] { p.Fpr, p.Tpr }).ToList(),
            };
        }

        return json;
    }

    private static double? Finite(double? v) => v is double d && double.IsFinite(d) ? d : null;

    private static string Number(double? v) =>
        v is double d && double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : string.Empty;

    private static string Show(double? v, int digits = 4) => v is double d && double.IsFinite(d) ? Svg.Format(d, digits) : "–";

    private static string Md(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
