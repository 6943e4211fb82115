using System.Text.Json.Nodes;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Outputs;

/// <summary>
/// Real outputs of <c>run</c>, <c>compare</c>, <c>evaluate</c>, <c>logits</c> and <c>bench</c> (micro model, embedded toy
/// model, small sizes) validated against the committed schemas with JsonSchema.Net: a file the schema rejects, or a
/// schema that no longer describes the files, fails here.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class OutputValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-schema-").FullName;

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

    private string Circuit()
    {
        var path = Path.Combine(_dir, "circuit.json");
        File.WriteAllText(path, """["B0.0->B1.0", "B1.1->Resid End"]""");
        return path;
    }

    private static string[] Micro(string dataset, int testSize = 4) =>
        ["--model", "micro", "--dataset", dataset, "--batch-size", "2", "--train-size", "4", "--test-size", testSize.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    private static IEnumerable<string> CircuitFiles(string dir) => Directory.EnumerateFiles(Path.Combine(dir, "circuits"), "*.json");

    [Fact]
    public async Task Run_ScoredAndFailedAlgorithms_MatchSchemas()
    {
        var outDir = Path.Combine(_dir, "run");

        // ground-truth fails here (no known circuit): run.json then holds both shapes of algorithm.
        var (code, _, err) = await Run(
            ["run", .. Micro(Dataset()), "-a", "activation-magnitude", "-a", "mask-gradient:grad-function=prob", "-a", "ground-truth",
             "--out", outDir]);

        Assert.True(code == 4, err);
        var run = File.ReadAllText(Path.Combine(outDir, "run.json"));
        SchemaFiles.AssertValid("run", run, "run.json");
        var statuses = JsonNode.Parse(run)!["algorithms"]!.AsArray().Select(a => (string?)a!["status"]);
        Assert.Equal(["ok", "ok", "failed"], statuses);
        Assert.Equal(2, CircuitFiles(outDir).Count());
        Assert.All(CircuitFiles(outDir), f => SchemaFiles.AssertValid("circuits", File.ReadAllText(f), f));
    }

    [Fact]
    public async Task Run_TestSplitWithoutBatch_CircuitsNullMatchesSchema()
    {
        var outDir = Path.Combine(_dir, "run");

        var (code, _, err) = await Run(["run", .. Micro(Dataset(), testSize: 1), "-a", "activation-magnitude", "--out", outDir]);

        Assert.True(code == 0, err);
        var run = File.ReadAllText(Path.Combine(outDir, "run.json"));
        var algorithm = JsonNode.Parse(run)!["algorithms"]![0]!.AsObject();
        Assert.True(algorithm.ContainsKey("circuits"));
        Assert.Null(algorithm["circuits"]);
        SchemaFiles.AssertValid("run", run, "run.json");
    }

    [Fact]
    public async Task CompareAndEvaluate_WithKnownCircuit_MatchSchemas()
    {
        var dataset = Dataset();
        var circuit = Circuit();
        var runDir = Path.Combine(_dir, "run");
        var compareDir = Path.Combine(_dir, "compare");
        var evalDir = Path.Combine(_dir, "eval");
        var (runCode, _, runErr) = await Run(["run", .. Micro(dataset), "-a", "activation-magnitude", "--out", runDir]);
        Assert.True(runCode == 0, runErr);
        var scores = Path.Combine(runDir, "scores", "activation-magnitude.json");

        var (compareCode, _, compareErr) = await Run(
            ["compare", .. Micro(dataset), "-a", "mask-gradient", "-a", "random", "-a", "ground-truth", "--scores", scores,
             "--circuit", circuit, "--export", "none", "--out", compareDir]);
        var (evalCode, _, evalErr) = await Run(["evaluate", .. Micro(dataset), "--scores", scores, "--circuit", circuit, "--out", evalDir]);

        Assert.True(compareCode == 0, compareErr);
        Assert.True(evalCode == 0, evalErr);
        var compare = File.ReadAllText(Path.Combine(compareDir, "compare.json"));
        SchemaFiles.AssertValid("compare", compare, "compare.json");
        var first = JsonNode.Parse(compare)!["algorithms"]![0]!.AsObject();
        Assert.All(["top_edges", "edge_patch", "tree_patch", "roc"], key => Assert.True(first.ContainsKey(key), key));
        Assert.NotNull(first["edge_patch"]!["auc_vs_random"]);
        SchemaFiles.AssertValid("evaluate", File.ReadAllText(Path.Combine(evalDir, "evaluate.json")), "evaluate.json");
        Assert.NotEmpty(CircuitFiles(compareDir));
        Assert.All(CircuitFiles(compareDir).Concat(CircuitFiles(evalDir)), f => SchemaFiles.AssertValid("circuits", File.ReadAllText(f), f));
        Assert.Contains("\"roc\"", File.ReadAllText(Assert.Single(CircuitFiles(evalDir))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("logits", false)]
    [InlineData("logits-all-positions", true)]
    public async Task Logits_ToyModel_MatchesSchema(string stem, bool allPositions)
    {
        string[] args = ["logits", "--model", "toy-induction", "--tokens", "1,2,3", "--device", "cpu"];

        var (code, output, err) = await Run(allPositions ? [.. args, "--all-positions"] : args);

        Assert.True(code == 0, err);
        SchemaFiles.AssertValid(stem, output, "logits output");
        Assert.NotEmpty(SchemaFiles.Errors(allPositions ? "logits" : "logits-all-positions", output));
    }

    [Fact]
    public async Task Bench_QuickJsonAndMemoryLine_MatchSchemas()
    {
        var (code, output, err) = await Run("bench", "--quick", "--json", "--repetitions", "1", "--threads", "1");
        var (memoryCode, memory, memoryErr) = await Run("bench", "--quick", "--memory-only", "--json", "--threads", "1");

        Assert.True(code == 0, err);
        Assert.True(memoryCode == 0, memoryErr);
        SchemaFiles.AssertValid("bench", output, "bench --json");
        SchemaFiles.AssertValid("bench-memory", memory, "bench --memory-only --json");
    }

    [Fact]
    public async Task Schemas_AlteredRealFiles_AreRejected()
    {
        var outDir = Path.Combine(_dir, "run");
        var (code, _, err) = await Run(["run", .. Micro(Dataset()), "-a", "activation-magnitude", "--out", outDir]);
        Assert.True(code == 0, err);
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")))!.AsObject();
        var circuits = JsonNode.Parse(File.ReadAllText(Assert.Single(CircuitFiles(outDir))))!.AsObject();

        var missing = run.DeepClone().AsObject();
        missing.Remove("seed");
        var extra = run.DeepClone().AsObject();
        extra["graph"]!.AsObject()["colour"] = "red";
        var badStatus = run.DeepClone().AsObject();
        badStatus["algorithms"]![0]!["status"] = "fine";
        var badMetric = circuits.DeepClone().AsObject();
        badMetric["results"]![0]!["metrics"]!["logit-diff"] = "high";

        Assert.Empty(SchemaFiles.Errors("run", run.ToJsonString()));
        Assert.NotEmpty(SchemaFiles.Errors("run", missing.ToJsonString()));
        Assert.NotEmpty(SchemaFiles.Errors("run", extra.ToJsonString()));
        Assert.NotEmpty(SchemaFiles.Errors("run", badStatus.ToJsonString()));
        Assert.Empty(SchemaFiles.Errors("circuits", circuits.ToJsonString()));
        Assert.NotEmpty(SchemaFiles.Errors("circuits", badMetric.ToJsonString()));
    }
}
