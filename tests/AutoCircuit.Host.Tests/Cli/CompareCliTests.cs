using System.Text.Json;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary><c>dotnet autocircuit compare</c> end to end in process, its report, and <c>run</c>'s report and exports.</summary>
[Collection(nameof(SeededCollection))]
public sealed partial class CompareCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static readonly string[] Small = ["--model", "micro", "--batch-size", "4", "--train-size", "8", "--test-size", "8"];

    private string Circuit()
    {
        var path = Path.Combine(_dir, "circuit.json");
        File.WriteAllText(path, """["Resid Start->B0.1", "B0.1->B1.1", "B1.1->Resid End"]""");
        return path;
    }

    [Fact]
    public async Task Compare_Micro_WritesEveryFileAndTheSummary()
    {
        var outDir = Path.Combine(_dir, "cmp");

        var (code, stdout, err) = await Run([
            "compare", .. Small, "-a", "activation-magnitude", "-a", "random", "-a", "ground-truth", "-a", "acdc:tau-exps=-2,tau-bases=1",
            "--circuit", Circuit(), "--metric", "logit-diff-percent", "--metric", "clean-kl-div", "--out", outDir,
            "--export", "all"]);

        Assert.True(code == 0, err);
        Assert.Contains("| algorithm | time (s) | peak RSS Δ (MiB) |", stdout, StringComparison.Ordinal);
        Assert.Contains("| ground-truth |", stdout, StringComparison.Ordinal);
        Assert.Contains("Spearman rank correlation", stdout, StringComparison.Ordinal);
        foreach (var f in new[] { "compare.json", "compare.csv", "report.html", "scores/random.json", "scores/random.safetensors",
                     "circuits/random-edge.json", "circuits/random-tree.csv", "exports/random/prune-scores.json", "exports/random/edges.csv",
                     "exports/random/mib/importances.json", "exports/random/mib-circuits/circuit-50pct.json",
                     "exports/acdc_tau-exps_-2_tau-bases_1/edges.csv" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        }

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "compare.json")));
        var root = json.RootElement;
        var algorithms = root.GetProperty("algorithms").EnumerateArray().ToList();
        Assert.Equal(
            ["activation-magnitude", "random", "ground-truth", "acdc:tau-exps=-2,tau-bases=1"],
            algorithms.Select(a => a.GetProperty("label").GetString()));
        Assert.All(algorithms, a =>
        {
            Assert.Equal("ok", a.GetProperty("status").GetString());
            Assert.True(a.GetProperty("seconds").GetDouble() >= 0);
            Assert.Equal(JsonValueKind.Number, a.GetProperty("managed_allocated_bytes").ValueKind);
            Assert.Equal(14, a.GetProperty("edge_patch").GetProperty("auc").EnumerateObject().Count());
            Assert.Equal(JsonValueKind.Object, a.GetProperty("tree_patch").ValueKind);
            Assert.Equal(JsonValueKind.Number, a.GetProperty("roc").GetProperty("auc").ValueKind);
        });
        Assert.Equal(1.0, algorithms[2].GetProperty("roc").GetProperty("auc").GetDouble());
        Assert.Equal(["logit-diff-percent", "clean-kl-div"], root.GetProperty("metrics").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(3, root.GetProperty("known_circuit").GetProperty("edges").GetInt32());
        var pairs = root.GetProperty("agreement").GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(6, pairs.Count);
        Assert.Equal([3, 5, 10], root.GetProperty("agreement").GetProperty("ks").EnumerateArray().Select(k => k.GetInt32()));
        var csv = File.ReadAllLines(Path.Combine(outDir, "compare.csv"));
        Assert.StartsWith("algorithm,status,seconds,peak_rss_delta_bytes,managed_allocated_bytes,roc_auc,auc_edge_clean-kl-div,", csv[0], StringComparison.Ordinal);
        Assert.Equal(5, csv.Length);
        Assert.Equal(2 + 14 + 14 + 4, csv[1].Split(',').Length);
    }

    [Fact]
    public async Task Compare_ExportedScores_ReimportToIdenticalEvaluations()
    {
        var first = Path.Combine(_dir, "first");
        var (code, _, err) = await Run(["compare", .. Small, "-a", "mask-gradient", "--out", first, "--export", "all"]);
        Assert.True(code == 0, err);
        var exports = Path.Combine(first, "exports", "mask-gradient");
        var second = Path.Combine(_dir, "second");

        (code, _, err) = await Run([
            "compare", .. Small, "--out", second,
            "--scores", Path.Combine(first, "scores", "mask-gradient.json"),
            "--scores", Path.Combine(first, "scores", "mask-gradient.safetensors"),
            "--scores", Path.Combine(exports, "edges.csv"),
            "--scores", Path.Combine(exports, "prune-scores.json"),
            "--scores", Path.Combine(exports, "mib", "importances.json"),
            "--scores", Path.Combine(exports, "mib")]);

        Assert.True(code == 0, err);
        using var a = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(first, "compare.json")));
        using var b = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(second, "compare.json")));
        var original = a.RootElement.GetProperty("algorithms")[0];
        var reimported = b.RootElement.GetProperty("algorithms").EnumerateArray().ToList();
        Assert.Equal(6, reimported.Count);
        Assert.Equal(["autocircuit", "csv", "mib", "safetensors"], reimported.Select(r => r.GetProperty("scores_format").GetString()).Distinct().Order());
        foreach (var r in reimported)
        {
            Assert.Equal(original.GetProperty("top_edges").GetRawText(), r.GetProperty("top_edges").GetRawText());
            Assert.Equal(original.GetProperty("edge_patch").GetRawText(), r.GetProperty("edge_patch").GetRawText());
            Assert.Equal(original.GetProperty("tree_patch").GetRawText(), r.GetProperty("tree_patch").GetRawText());
        }

        // Identical scores: every pair agrees perfectly.
        Assert.All(b.RootElement.GetProperty("agreement").GetProperty("pairs").EnumerateArray(), p =>
            Assert.Equal(1.0, p.GetProperty("spearman").GetDouble(), 12));
    }

    [Fact]
    public async Task Evaluate_ExportedCsv_EqualsRunsCircuits()
    {
        var runDir = Path.Combine(_dir, "run");
        var (code, _, err) = await Run(["run", .. Small, "-a", "activation-magnitude", "--out", runDir, "--export", "csv,mib"]);
        Assert.True(code == 0, err);
        var evalDir = Path.Combine(_dir, "eval");

        (code, var csv, err) = await Run([
            "evaluate", .. Small, "--scores", Path.Combine(runDir, "exports", "activation-magnitude", "edges.csv"), "--out", evalDir]);

        Assert.True(code == 0, err);
        Assert.Equal(File.ReadAllText(Path.Combine(runDir, "circuits", "activation-magnitude.csv")), csv);
        Assert.True(File.Exists(Path.Combine(runDir, "report.html")));
        Assert.True(File.Exists(Path.Combine(runDir, "exports", "activation-magnitude", "mib", "importances.json")));
        Assert.False(Directory.Exists(Path.Combine(runDir, "exports", "activation-magnitude", "mib-circuits")));
    }

    [Fact]
    public async Task Compare_Report_IsSelfContainedWithCurvesRocAndDiagrams()
    {
        var outDir = Path.Combine(_dir, "report");

        var (code, _, err) = await Run([
            "compare", .. Small, "-a", "mask-gradient", "-a", "random", "--circuit", Circuit(), "--token-positions",
            "--diagram-edges", "7", "--out", outDir, "--export", "none"]);

        Assert.True(code == 0, err);
        Assert.False(Directory.Exists(Path.Combine(outDir, "exports")));
        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));

        // Offline: no external resource; the only scripts are the circuit explorer's, inline; the only URL is SVG's XML namespace.
        Assert.Equal(["<script type=\"application/json\" id=\"ce-data\">", "<script>"], Regex.Matches(html, "<script[^>]*>").Select(m => m.Value));
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.All(UrlPattern().Matches(html), m => Assert.Equal("http://www.w3.org/2000/svg", m.Value));

        Assert.Equal(3, CountOf(html, "class=\"chart\"")); // edge and tree patch curves, and the ROC chart
        Assert.Contains("ROC: 9 known edges of 39", html, StringComparison.Ordinal);
        Assert.Equal(2, CountOf(html, "class=\"diagram\""));
        Assert.Contains("mask-gradient: top 7 edges", html, StringComparison.Ordinal);
        Assert.Contains("top 7 of 39 edges by |score|", html, StringComparison.Ordinal);
        Assert.Contains("position 2", html, StringComparison.Ordinal); // the micro task has no seq_labels
    }

    [Fact]
    public async Task Compare_DefaultTask_UsesItsKnownCircuitUnlessACircuitFileIsGiven()
    {
        var outDir = Path.Combine(_dir, "task");

        var (code, stdout, err) = await Run([
            "compare", "--task", "induction", "-a", "mask-gradient", "-a", "ground-truth", "--train-size", "32", "--test-size", "32",
            "--out", outDir]);

        Assert.True(code == 0, err);
        Assert.Contains("task induction", err, StringComparison.Ordinal);
        Assert.Contains("ROC AUC", stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "compare.json")));
        var known = json.RootElement.GetProperty("known_circuit");
        Assert.Equal((28, "task induction"), (known.GetProperty("edges").GetInt32(), known.GetProperty("source").GetString()));
        Assert.Equal(1.0, json.RootElement.GetProperty("algorithms")[1].GetProperty("roc").GetProperty("auc").GetDouble());
        Assert.Equal("induction", json.RootElement.GetProperty("data").GetProperty("task").GetString());
    }

    [Fact]
    public async Task Compare_AlgorithmThatFails_KeepsTheOthersAndExitsWith4()
    {
        var outDir = Path.Combine(_dir, "failed");

        var (code, stdout, err) = await Run(["compare", .. Small, "-a", "ground-truth", "-a", "random", "--out", outDir]);

        Assert.Equal((int)ExitCode.AlgorithmFailed, code);
        Assert.Contains("error: algorithm 'ground-truth' failed: needs a task with a known circuit", err, StringComparison.Ordinal);
        Assert.Contains("| ground-truth | – | – |", stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "compare.json")));
        Assert.Equal(["failed", "ok"], json.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetProperty("status").GetString()));
        Assert.True(File.Exists(Path.Combine(outDir, "report.html")));
    }

    [Theory]
    [InlineData("--metric", "logit-difference", "--metric logit-difference: unknown metric")]
    [InlineData("--patch-type", "sideways", "--patch-type sideways: expected edge or tree")]
    [InlineData("--agreement-k", "0", "--agreement-k 0: '0' is not a positive edge count")]
    [InlineData("--agreement-k", "99", "--agreement-k 99: outside the graph's 1..13 edges")]
    [InlineData("--scores-format", "xml", "--scores-format xml: expected one of")]
    [InlineData("--scores", "missing.csv", "missing.csv: scores file not found")]
    [InlineData("--export", "pdf", "--export pdf: 'pdf' is not one of")]
    public async Task Compare_BadOption_IsAUsageErrorAndWritesNothing(string option, string value, string message)
    {
        var outDir = Path.Combine(_dir, "bad");

        var (code, _, err) = await Run(["compare", .. Small, "-a", "random", option, value, "--out", outDir]);

        Assert.Equal((int)ExitCode.UsageError, code);
        Assert.Contains(message, err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    private static int CountOf(string text, string part) => Regex.Matches(text, Regex.Escape(part)).Count;

    [GeneratedRegex("""https?://[^"'\s)<]+""")]
    private static partial Regex UrlPattern();
}
