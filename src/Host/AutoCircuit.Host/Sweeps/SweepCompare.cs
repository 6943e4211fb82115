using System.Globalization;
using System.Text;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Host.Reports;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>One finished cell as the comparison reads it.</summary>
internal sealed record ComparedCell(string Task, string Model, string Algorithm, string Key, string Ablation, string PatchType, long Seed, double? Auc);

/// <summary>
/// <c>compare --sweep &lt;cache or plan&gt;</c>: one comparison over a sweep's finished cells. Per task × model and per
/// condition (ablation × patch type), the algorithms are ranked by the mean over seeds of the area under the metric's
/// curve, with a 95% percentile bootstrap interval of that mean (1,000 resamples of the seeds, seeded); the seeds'
/// standard deviation is the seed-to-seed spread; the robustness table shows each algorithm's rank and area under every
/// condition and Kendall's tau-b of each condition's ranking against the reference (resample, edge patch) — the
/// question of auto-circuit's "Transformer Circuit Metrics are not Robust". Writes <c>sweep-compare.json</c>,
/// <c>sweep-compare.csv</c> and <c>report.html</c> into a results folder that appears only when complete.
/// </summary>
internal static class SweepCompare
{
    public const int Resamples = 1000;

    public const int BootstrapSeed = 20240917;

    public const double Confidence = 0.95;

    public static ExitCode Execute(string source, string? cacheDir, string? metricKey, string? outDir, IReadOnlyList<string> commandLine, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(env);
        var metric = metricKey is null ? PruneMetric.LogitDiffPercent : PruneMetric.All.FirstOrDefault(m => m.Key == metricKey)
            ?? throw new AutoCircuitException($"--metric {metricKey}: unknown metric; expected one of {string.Join(", ", PruneMetric.All.Select(m => m.Key))}.");
        var (cache, folders, missing) = Locate(source, cacheDir, env);
        var cells = folders.Select(f => Read(f, metric)).ToList();
        if (cells.Count == 0)
        {
            throw new AutoCircuitException($"compare --sweep {source}: no finished cells in {cache}.");
        }

        var file = Build(source, cache, cells, missing, metric, commandLine);
        var results = new ResultsDirectory(outDir ?? Path.Combine(
            "autocircuit-results", "sweep-compare-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        using (results)
        {
            JsonOutput.Write(results.PathFor("sweep-compare.json"), file, SweepJsonContext.Default.SweepCompareFile);
            File.WriteAllText(results.PathFor("sweep-compare.csv"), ToCsv(file), new UTF8Encoding(false));
            File.WriteAllText(results.PathFor("report.html"), ToHtml(file), new UTF8Encoding(false));
            results.Commit();
        }

        env.Out.Write(ToMarkdown(file));
        env.Error.WriteLine($"results: {results.FinalPath} (open report.html)");
        return ExitCode.Ok;
    }

    /// <summary>The cell folders of a plan (its finished cells) or of a whole cache.</summary>
    private static (string Cache, List<string> Folders, int Missing) Locate(string source, string? cacheDir, RunEnvironment env)
    {
        if (File.Exists(source))
        {
            var session = SweepSession.Open(source, cacheDir, env);
            var done = session.CompleteCells(env.Error);
            var folders = Enumerable.Range(0, done.Length).Where(i => done[i]).Select(i => session.Cache.CellPath(session.Keys[i])).ToList();
            if (done.Any(d => !d))
            {
                env.Error.WriteLine($"warning: {done.Count(d => !d)} of {done.Length} cells of {source} are not finished; comparing the {folders.Count} that are.");
            }

            return (session.Cache.Root, folders, done.Count(d => !d));
        }

        if (Directory.Exists(source))
        {
            var cache = new SweepCache(source);
            if (!Directory.Exists(cache.CellsDir))
            {
                throw new AutoCircuitException($"compare --sweep {source}: not a sweep cache (no cells/ folder) and not a plan file.");
            }

            var folders = new List<string>();
            foreach (var dir in Directory.EnumerateDirectories(cache.CellsDir).Order(StringComparer.Ordinal))
            {
                var (ok, problem) = cache.Verify(Path.GetFileName(dir));
                if (ok)
                {
                    folders.Add(dir);
                }
                else
                {
                    env.Error.WriteLine($"warning: {dir}: left out ({problem ?? "incomplete"}).");
                }
            }

            return (cache.Root, folders, 0);
        }

        throw new AutoCircuitException($"compare --sweep {source}: no such plan file or cache folder.");
    }

    private static ComparedCell Read(string folder, PruneMetric metric)
    {
        var cell = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(folder, "cell.json")), SweepJsonContext.Default.SweepCellFile)!;
        var a = cell.Axes;
        var circuits = Path.Combine(folder, "circuits", a.AlgorithmKey + ".json");
        var evaluation = JsonSerializer.Deserialize(File.ReadAllBytes(circuits), OutputJsonContext.Default.CircuitEvaluationFile)!;
        var auc = evaluation.Auc.TryGetValue(metric.Key, out var v) ? v : null;
        var model = a.Model == "default" ? cell.Identity.Model.Spec : File.Exists(a.Model) || Directory.Exists(a.Model) ? Path.GetFileName(a.Model.TrimEnd('/')) : a.Model;
        var task = a.Task ?? (a.Dataset is null ? "default" : Path.GetFileName(a.Dataset));
        return new ComparedCell(task, model, a.Algorithm, a.AlgorithmKey, a.Ablation, a.PatchType, a.Seed, auc);
    }

    /// <summary>The comparison of <paramref name="cells"/>.</summary>
    public static SweepCompareFile Build(
        string source, string cache, IReadOnlyList<ComparedCell> cells, int missing, PruneMetric metric, IReadOnlyList<string> commandLine)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(metric);
        var groups = new List<SweepCompareGroup>();
        foreach (var g in cells.GroupBy(c => (c.Task, c.Model)).OrderBy(g => g.Key.Task, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal))
        {
            groups.Add(Group(g.Key.Task, g.Key.Model, g.ToList(), metric));
        }

        return new SweepCompareFile
        {
            Tool = "dotnet-autocircuit compare --sweep",
            Versions = ToolVersions.Current(withAbstractions: false),
            CommandLine = commandLine,
            Source = Path.GetFullPath(source),
            Cache = cache,
            Cells = cells.Count,
            MissingCells = missing,
            Metric = metric.Key,
            LowerBetter = metric.LowerBetter,
            Bootstrap = new SweepBootstrap { Over = "seeds", Resamples = Resamples, Confidence = Confidence, Seed = BootstrapSeed },
            Groups = groups,
        };
    }

    private static SweepCompareGroup Group(string task, string model, List<ComparedCell> cells, PruneMetric metric)
    {
        var conditions = cells.Select(c => (c.Ablation, c.PatchType)).Distinct()
            .OrderBy(c => (int)EvaluationNames.ParseAblation(c.Ablation)).ThenBy(c => c.PatchType, StringComparer.Ordinal).ToList();
        var reference = conditions.Contains(("resample", "edge")) ? ("resample", "edge") : conditions[0];
        var algorithms = cells.Select(c => (c.Algorithm, c.Key)).Distinct().ToList();

        // [algorithm][condition]
        var stats = algorithms.Select(a => conditions.Select(cond =>
        {
            var mine = cells.Where(c => c.Algorithm == a.Algorithm && (c.Ablation, c.PatchType) == cond).OrderBy(c => c.Seed).ToList();
            return mine.Count == 0 ? null : Stats(mine);
        }).ToArray()).ToArray();
        var ranks = new int[algorithms.Count, conditions.Count];
        for (var j = 0; j < conditions.Count; j++)
        {
            var column = Enumerable.Range(0, algorithms.Count).Select(i => stats[i][j]?.Mean).ToArray();
            for (var i = 0; i < algorithms.Count; i++)
            {
                ranks[i, j] = Rank(column, i, metric.LowerBetter);
            }
        }

        var refIndex = conditions.IndexOf(reference);
        var rankAgreement = conditions.Select((_, j) => KendallTauB(
            Enumerable.Range(0, algorithms.Count).Select(i => stats[i][refIndex]?.Mean).ToArray(),
            Enumerable.Range(0, algorithms.Count).Select(i => stats[i][j]?.Mean).ToArray())).ToList();

        var compared = algorithms.Select((a, i) =>
        {
            var present = Enumerable.Range(0, conditions.Count).Where(j => stats[i][j] is not null).ToList();
            var means = present.Select(j => stats[i][j]!.Mean).OfType<double>().ToList();
            var stds = present.Select(j => stats[i][j]!.Std).OfType<double>().ToList();
            return new SweepCompareAlgorithm
            {
                Algorithm = a.Algorithm,
                Key = a.Key,
                Conditions = Enumerable.Range(0, conditions.Count).Select(j => stats[i][j] is { } s ? s with { Rank = ranks[i, j] } : null).ToList(),
                MeanRank = Math.Round(present.Average(j => (double)ranks[i, j]), 4),
                BestRank = present.Min(j => ranks[i, j]),
                WorstRank = present.Max(j => ranks[i, j]),
                AucMin = means.Count == 0 ? null : means.Min(),
                AucMax = means.Count == 0 ? null : means.Max(),
                SeedStd = stds.Count == 0 ? null : stds.Average(),
            };
        }).OrderBy(a => a.Conditions[refIndex]?.Rank ?? int.MaxValue).ThenBy(a => a.MeanRank).ThenBy(a => a.Algorithm, StringComparer.Ordinal).ToList();

        return new SweepCompareGroup
        {
            Task = task,
            Model = model,
            Conditions = conditions.Select(c => new SweepCondition { Ablation = c.Ablation, PatchType = c.PatchType }).ToList(),
            Reference = new SweepCondition { Ablation = reference.Item1, PatchType = reference.Item2 },
            Algorithms = compared,
            RankAgreement = rankAgreement,
        };
    }

    /// <summary>Mean, sample standard deviation and the percentile bootstrap interval of the mean over the seeds.</summary>
    internal static SweepCompareCell Stats(IReadOnlyList<ComparedCell> seeds)
    {
        var values = seeds.Select(s => s.Auc).OfType<double>().Where(double.IsFinite).ToArray();
        double? mean = values.Length == 0 ? null : values.Average();
        double? std = values.Length < 2 ? null : Math.Sqrt(values.Sum(v => (v - mean!.Value) * (v - mean.Value)) / (values.Length - 1));
        var (lo, hi) = Bootstrap(values);
        return new SweepCompareCell
        {
            Seeds = seeds.Select(s => s.Seed).ToList(),
            Auc = seeds.Select(s => s.Auc is double d && double.IsFinite(d) ? d : (double?)null).ToList(),
            Mean = mean,
            Std = std,
            CiLow = lo,
            CiHigh = hi,
            Rank = 0,
        };
    }

    /// <summary>The 95% percentile interval of the mean over <see cref="Resamples"/> resamples with replacement.</summary>
    internal static (double? Low, double? High) Bootstrap(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return (null, null);
        }

        // Same seed for every interval: a table is reproducible and independent of the order it is computed in.
        var random = new Random(BootstrapSeed);
        var means = new double[Resamples];
        for (var r = 0; r < Resamples; r++)
        {
            var sum = 0.0;
            for (var k = 0; k < values.Count; k++)
            {
                sum += values[random.Next(values.Count)];
            }

            means[r] = sum / values.Count;
        }

        Array.Sort(means);
        var alpha = (1 - Confidence) / 2;
        return (Quantile(means, alpha), Quantile(means, 1 - alpha));
    }

    /// <summary>Linear interpolation between order statistics (numpy's default).</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>1 + the number of algorithms strictly better; an undefined mean ranks after every defined one.</summary>
    private static int Rank(double?[] means, int i, bool lowerBetter)
    {
        if (means[i] is not double mine)
        {
            return 1 + means.Count(m => m is not null);
        }

        return 1 + means.Count(m => m is double other && (lowerBetter ? other < mine : other > mine));
    }

    /// <summary>Kendall's tau-b of two score lists over the items defined in both; <c>null</c> when undefined.</summary>
    internal static double? KendallTauB(double?[] a, double?[] b)
    {
        var items = Enumerable.Range(0, a.Length).Where(i => a[i] is not null && b[i] is not null).ToList();
        if (items.Count < 2)
        {
            return null;
        }

        long concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
        for (var x = 0; x < items.Count; x++)
        {
            for (var y = x + 1; y < items.Count; y++)
            {
                var da = Math.Sign(a[items[x]]!.Value - a[items[y]]!.Value);
                var db = Math.Sign(b[items[x]]!.Value - b[items[y]]!.Value);
                if (da == 0 && db == 0)
                {
                    continue;
                }

                if (da == 0)
                {
                    tiesA++;
                }
                else if (db == 0)
                {
                    tiesB++;
                }
                else if (da == db)
                {
                    concordant++;
                }
                else
                {
                    discordant++;
                }
            }
        }

        var denominator = Math.Sqrt((double)(concordant + discordant + tiesA) * (concordant + discordant + tiesB));
        return denominator == 0 ? null : Math.Round((concordant - discordant) / denominator, 6);
    }

    private static string Name(SweepCondition c) => $"{c.Ablation} / {c.PatchType}";

    private static string F(double? v) => v is double d ? d.ToString("0.####", CultureInfo.InvariantCulture) : "–";

    private static string Csv(string s) => s.Contains(',', StringComparison.Ordinal) || s.Contains('"', StringComparison.Ordinal)
        ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : s;

    public static string ToCsv(SweepCompareFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var sb = new StringBuilder("task,model,algorithm,ablation,patch_type,seeds,auc_mean,auc_std,ci_low,ci_high,rank,auc_per_seed\n");
        foreach (var g in file.Groups)
        {
            foreach (var a in g.Algorithms)
            {
                for (var j = 0; j < g.Conditions.Count; j++)
                {
                    if (a.Conditions[j] is not { } c)
                    {
                        continue;
                    }

                    string R(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
                    sb.Append(CultureInfo.InvariantCulture,
                        $"{Csv(g.Task)},{Csv(g.Model)},{Csv(a.Algorithm)},{g.Conditions[j].Ablation},{g.Conditions[j].PatchType},{c.Seeds.Count}," +
                        $"{R(c.Mean)},{R(c.Std)},{R(c.CiLow)},{R(c.CiHigh)},{c.Rank},{string.Join(';', c.Auc.Select(R))}\n");
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>The robustness table of each group as Markdown (stdout).</summary>
    public static string ToMarkdown(SweepCompareFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var sb = new StringBuilder();
        foreach (var g in file.Groups)
        {
            sb.Append(CultureInfo.InvariantCulture, $"## {g.Task} × {g.Model}: rank (AUC of {file.Metric}) per ablation / patch type\n\n");
            sb.Append("| algorithm | ").Append(string.Join(" | ", g.Conditions.Select(Name))).Append(" | mean rank | rank range | AUC range | seed std |\n");
            sb.Append("|---|").Append(string.Concat(g.Conditions.Select(_ => "---:|"))).Append("---:|---:|---:|---:|\n");
            foreach (var a in g.Algorithms)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {a.Algorithm} | ")
                    .Append(string.Join(" | ", a.Conditions.Select(c => c is null ? "–" : $"{c.Rank} ({F(c.Mean)})")))
                    .Append(CultureInfo.InvariantCulture, $" | {a.MeanRank:0.##} | {a.BestRank}–{a.WorstRank} | {F(a.AucMin)}–{F(a.AucMax)} | {F(a.SeedStd)} |\n");
            }

            sb.Append("| Kendall τ vs reference | ").Append(string.Join(" | ", g.RankAgreement.Select(t => F(t)))).Append(" | | | | |\n\n");
        }

        return sb.ToString();
    }

    /// <summary>A self-contained, well-formed (XHTML-compatible) page.</summary>
    public static string ToHtml(SweepCompareFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title>AutoCircuit sweep comparison</title><style>")
            .Append("body{font-family:sans-serif;margin:24px auto;max-width:1440px;color:#222;padding:0 16px}h1{font-size:22px}")
            .Append("h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}table{border-collapse:collapse;font-size:13px}")
            .Append("th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f4f6}td.l,th.l{text-align:left}")
            .Append(".muted{color:#666;font-size:12px}.scroll{overflow-x:auto}")
            .Append("</style></head><body>\n<h1>AutoCircuit sweep comparison</h1>\n<dl>");
        void Item(string k, string v) => sb.Append("<dt>").Append(Svg.Escape(k)).Append("</dt><dd>").Append(Svg.Escape(v)).Append("</dd>");
        Item("source", file.Source);
        Item("cells", $"{file.Cells} finished" + (file.MissingCells > 0 ? $", {file.MissingCells} not finished (left out)" : string.Empty));
        Item("ranked by", $"area under the {file.Metric} curve ({(file.LowerBetter ? "lower" : "higher")} is better), mean over seeds");
        Item("intervals", $"{file.Bootstrap.Confidence:P0} percentile bootstrap of the mean over seeds, {file.Bootstrap.Resamples} resamples, seed {file.Bootstrap.Seed}");
        Item("command", string.Join(' ', file.CommandLine));
        sb.Append("</dl>\n");
        foreach (var g in file.Groups)
        {
            var refIndex = g.Conditions.ToList().FindIndex(c => c == g.Reference);
            sb.Append("<h2>").Append(Svg.Escape($"{g.Task} × {g.Model}")).Append("</h2>\n");
            sb.Append("<h3>").Append(Svg.Escape($"Ranking under {Name(g.Reference)}")).Append("</h3>\n<table><tr><th>rank</th><th class=\"l\">algorithm</th>")
                .Append("<th>AUC (mean)</th><th>95% CI</th><th>seeds</th><th>seed std</th></tr>\n");
            foreach (var a in g.Algorithms)
            {
                var c = a.Conditions[refIndex];
                sb.Append("<tr><td>").Append(c?.Rank.ToString(CultureInfo.InvariantCulture) ?? "–").Append("</td><td class=\"l\">")
                    .Append(Svg.Escape(a.Algorithm)).Append("</td><td>").Append(F(c?.Mean)).Append("</td><td>")
                    .Append(Svg.Escape(c is null ? "–" : $"[{F(c.CiLow)}, {F(c.CiHigh)}]")).Append("</td><td>")
                    .Append(c?.Seeds.Count.ToString(CultureInfo.InvariantCulture) ?? "0").Append("</td><td>").Append(F(c?.Std)).Append("</td></tr>\n");
            }

            sb.Append("</table>\n<h3>Ablation robustness: rank (mean AUC) under each ablation and patch type</h3>\n<div class=\"scroll\"><table><tr><th class=\"l\">algorithm</th>");
            foreach (var c in g.Conditions)
            {
                sb.Append("<th>").Append(Svg.Escape(c.Ablation)).Append("<br />").Append(Svg.Escape(c.PatchType)).Append("</th>");
            }

            sb.Append("<th>mean rank</th><th>rank range</th><th>AUC range</th></tr>\n");
            var n = Math.Max(1, g.Algorithms.Count);
            foreach (var a in g.Algorithms)
            {
                sb.Append("<tr><td class=\"l\">").Append(Svg.Escape(a.Algorithm)).Append("</td>");
                foreach (var c in a.Conditions)
                {
                    // green for rank 1 fading to white for the last rank
                    var shade = c is null ? 255 : (int)(170 + (85.0 * (c.Rank - 1) / Math.Max(1, n - 1)));
                    sb.Append(CultureInfo.InvariantCulture, $"<td style=\"background:rgb({shade},255,{shade})\">")
                        .Append(c is null ? "–" : $"{c.Rank} ({F(c.Mean)})").Append("</td>");
                }

                sb.Append(CultureInfo.InvariantCulture, $"<td>{a.MeanRank:0.##}</td><td>{a.BestRank}–{a.WorstRank}</td><td>{F(a.AucMin)}–{F(a.AucMax)}</td></tr>\n");
            }

            sb.Append("<tr><td class=\"l\">Kendall τ vs reference</td>");
            foreach (var t in g.RankAgreement)
            {
                sb.Append("<td>").Append(F(t)).Append("</td>");
            }

            sb.Append("<td></td><td></td><td></td></tr>\n</table></div>\n");
            sb.Append("<h3>Seed-to-seed spread: standard deviation of the AUC over seeds</h3>\n<div class=\"scroll\"><table><tr><th class=\"l\">algorithm</th>");
            foreach (var c in g.Conditions)
            {
                sb.Append("<th>").Append(Svg.Escape(c.Ablation)).Append("<br />").Append(Svg.Escape(c.PatchType)).Append("</th>");
            }

            sb.Append("<th>mean</th></tr>\n");
            foreach (var a in g.Algorithms)
            {
                sb.Append("<tr><td class=\"l\">").Append(Svg.Escape(a.Algorithm)).Append("</td>");
                foreach (var c in a.Conditions)
                {
                    sb.Append("<td>").Append(F(c?.Std)).Append("</td>");
                }

                sb.Append("<td>").Append(F(a.SeedStd)).Append("</td></tr>\n");
            }

            sb.Append("</table></div>\n");
        }

        sb.Append("<p class=\"muted\">Written by dotnet autocircuit compare --sweep; sweep-compare.json and sweep-compare.csv hold the same numbers.</p>\n</body></html>\n");
        return sb.ToString();
    }
}
