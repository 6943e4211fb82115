using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary><c>dotnet autocircuit evaluate</c>, and the circuits <c>run</c> evaluates, end to end in process.</summary>
[Collection(nameof(SeededCollection))]
public sealed class EvaluateCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string Dataset()
    {
        var items = Enumerable.Range(0, 12).Select(i =>
            $"{{\"clean\": [[{(i % 3) + 1}, 2], [1, {(i % 2) + 1}], [{(i % 5) - 2}, 1]], \"corrupt\": [[-1, -2], [-1, -1], [1, -1]], " +
            $"\"answers\": [{i % 2}], \"wrong_answers\": [{1 - (i % 2)}]}}");
        var path = Path.Combine(_dir, "data.json");
        File.WriteAllText(path, $"{{\"prompts\": [{string.Join(", ", items)}]}}");
        return path;
    }

    private string[] Data(string dataset) =>
        ["--model", "micro", "--dataset", dataset, "--batch-size", "2", "--train-size", "4", "--test-size", "4"];

    /// <summary>auto-circuit's prune-scores layout: module name → nested arrays, nothing else.</summary>
    private string AutoCircuitScores()
    {
        var path = Path.Combine(_dir, "ps.json");
        File.WriteAllText(path, """
            {"blocks.0.head_inputs": [[0.5], [-0.25]],
             "blocks.1.head_inputs": [[1.0, 0.0, 0.25], [0.0, 2.0, -0.5]],
             "output": [0.0, 0.5, -0.125, 3.0, 0.75]}
            """);
        return path;
    }

    [Fact]
    public async Task Run_Micro_WritesCircuitsForEachAlgorithm()
    {
        var outDir = Path.Combine(_dir, "run");

        var (code, _, err) = await Run(["run", .. Data(Dataset()), "--out", outDir, "--edges", "0,2,5,13", "--ablation", "zero"]);

        Assert.True(code == 0, err);
        using var circuits = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "circuits", "activation-magnitude.json")));
        var root = circuits.RootElement;
        Assert.Equal("activation-magnitude", root.GetProperty("algorithm").GetString());
        Assert.Equal("edge", root.GetProperty("patch_type").GetString());
        Assert.Equal("zero", root.GetProperty("ablation").GetString());
        Assert.False(root.GetProperty("reverse").GetBoolean());
        var results = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([0, 2, 5, 13], results.Select(r => r.GetProperty("requested").GetInt32()));
        Assert.All(results, r => Assert.Equal(14, r.GetProperty("metrics").EnumerateObject().Count()));
        Assert.Equal(14, root.GetProperty("auc").EnumerateObject().Count());
        var csv = File.ReadAllLines(Path.Combine(outDir, "circuits", "activation-magnitude.csv"));
        Assert.Equal(5, csv.Length);
        Assert.Equal("requested,edges," + string.Join(",", PruneMetric.All.Select(m => m.Key)), csv[0]);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("zero", run.RootElement.GetProperty("evaluation").GetProperty("ablation").GetString());
    }

    [Fact]
    public async Task Evaluate_RunScores_ReproducesRunsCircuits()
    {
        var dataset = Dataset();
        var runDir = Path.Combine(_dir, "run");
        var evalDir = Path.Combine(_dir, "eval");
        var (runCode, _, runErr) = await Run(["run", .. Data(dataset), "--out", runDir, "--patch-type", "tree", "--reverse"]);
        Assert.True(runCode == 0, runErr);

        var (code, output, err) = await Run(
        [
            "evaluate", .. Data(dataset), "--scores", Path.Combine(runDir, "scores", "activation-magnitude.json"),
            "--patch-type", "tree", "--reverse", "--out", evalDir,
        ]);

        Assert.True(code == 0, err);
        var fromRun = File.ReadAllText(Path.Combine(runDir, "circuits", "activation-magnitude.csv"));
        var fromEvaluate = File.ReadAllText(Path.Combine(evalDir, "circuits", "activation-magnitude.csv"));
        Assert.Equal(fromRun, fromEvaluate);
        Assert.Equal(fromEvaluate, output);
        using var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "evaluate.json")));
        Assert.Equal("tree", record.RootElement.GetProperty("evaluation").GetProperty("patch_type").GetString());
        Assert.True(record.RootElement.GetProperty("evaluation").GetProperty("reverse").GetBoolean());
    }

    [Fact]
    public async Task Evaluate_AutoCircuitScoresWithKnownCircuit_WritesGroupsAndRoc()
    {
        var circuit = Path.Combine(_dir, "circuit.json");
        File.WriteAllText(circuit, """["B1.1->Resid End", {"name": "Resid Start->B0.0"}]""");
        var outDir = Path.Combine(_dir, "eval");

        var (code, _, err) = await Run(
        [
            "evaluate", .. Data(Dataset()), "--scores", AutoCircuitScores(), "--edges", "groups", "--ablation",
            "tokenwise-mean-clean", "--circuit", circuit, "--out", outDir,
        ]);

        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "circuits", "ps.json")));
        var root = doc.RootElement;
        Assert.Equal("ps", root.GetProperty("algorithm").GetString()); // named after the file: no "algorithm" in it
        // |scores| groups, largest first: 3 | 2 | 1 | 0.75 | 0.5 x3 | 0.25 x2 | 0.125 | 0 x3, plus the known circuit's size 2.
        Assert.Equal(
            [0, 1, 2, 3, 4, 7, 9, 10, 13],
            root.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("requested").GetInt32()));
        var roc = root.GetProperty("roc");
        Assert.Equal(0.0, roc.GetProperty("points")[0][0].GetDouble());
        Assert.InRange(roc.GetProperty("auc").GetDouble(), 0, 1);
    }

    [Theory]
    [InlineData("--edges", "1,x", "--edges 1,x: 'x' is not an edge count")]
    [InlineData("--edges", "20", "edge count 20 is outside the graph's 0..13 edges")]
    [InlineData("--ablation", "mean", "--ablation mean: unknown ablation type; expected one of resample, zero,")]
    [InlineData("--patch-type", "node", "--patch-type node: expected edge or tree")]
    public async Task Evaluate_BadOption_OneLineUsageErrorAndNoResults(string option, string value, string expected)
    {
        var outDir = Path.Combine(_dir, "eval");

        var (code, _, err) = await Run(["evaluate", .. Data(Dataset()), "--scores", AutoCircuitScores(), option, value, "--out", outDir]);

        Assert.Equal(1, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Run_EdgeCountAboveGraph_FailsBeforeRunningAnyAlgorithm()
    {
        var outDir = Path.Combine(_dir, "run");

        var (code, output, err) = await Run(["run", .. Data(Dataset()), "--edges", "0,5,14", "--out", outDir]);

        Assert.Equal(1, code);
        Assert.Contains("edge count 14 is outside the graph's 0..13 edges", err, StringComparison.Ordinal);
        Assert.Empty(output);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Evaluate_ScoresOfAnotherGraph_OneLineErrorNamingTheModule()
    {
        var (code, _, err) = await Run(
            ["evaluate", .. Data(Dataset()), "--scores", AutoCircuitScores(), "--graph", "residual", "--out", Path.Combine(_dir, "o")]);

        Assert.Equal(1, code);
        Assert.Contains("ps.json: scores.", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Evaluate_WithoutScores_IsAUsageError()
    {
        var (code, _, err) = await Run("evaluate", "--model", "micro");

        Assert.Equal(1, code);
        Assert.Contains("--scores", err, StringComparison.Ordinal);
    }
}
