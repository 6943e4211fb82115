using System.Diagnostics;
using System.Text.Json;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Toy;
using AutoCircuit.Tool.Cli;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>--task, the default run on the embedded model, and train-toy, end to end through the command line.</summary>
[Collection(nameof(SeededCollection))]
public sealed class TaskCliTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-task-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Run_NoArguments_UsesTheEmbeddedModelItsTaskAndKnownCircuit()
    {
        var outDir = Path.Combine(_dir, "default");
        var previous = Directory.GetCurrentDirectory();
        var clock = Stopwatch.StartNew();
        int code;
        string output, err;
        try
        {
            // No arguments at all: the results go to ./autocircuit-results/<timestamp> of the working folder.
            Directory.SetCurrentDirectory(_dir);
            (code, output, err) = await Run("run");
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }

        log.WriteLine($"dotnet autocircuit run (no arguments, in process): {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(code == 0, err);
        var results = Directory.GetDirectories(Path.Combine(_dir, "autocircuit-results")).Single();
        Assert.Contains("task induction", err, StringComparison.Ordinal);
        Assert.Contains("known circuit: 28 edges", err, StringComparison.Ordinal);
        foreach (var key in RunJob.DefaultAlgorithms.Append(RunJob.GroundTruthKey))
        {
            Assert.Contains($"## {key}", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(results, "scores", key + ".json")), key);
            Assert.True(File.Exists(Path.Combine(results, "circuits", key + ".json")), key);
        }

        Assert.True(File.Exists(Path.Combine(results, "report.html")));
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "run.json")));
        Assert.Equal(ToyModel.Name, run.RootElement.GetProperty("model").GetProperty("spec").GetString());
        Assert.Equal("induction", run.RootElement.GetProperty("data").GetProperty("task").GetString());
        Assert.Equal(28, run.RootElement.GetProperty("known_circuit").GetArrayLength());
        Assert.Equal(81, run.RootElement.GetProperty("graph").GetProperty("edges").GetInt32());
        using var circuits = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "circuits", "activation-magnitude.json")));
        var roc = circuits.RootElement.GetProperty("roc");
        Assert.InRange(roc.GetProperty("auc").GetDouble(), 0, 1);
        var full = circuits.RootElement.GetProperty("results").EnumerateArray().Last();
        Assert.Equal(81, full.GetProperty("edges").GetInt32());
        Assert.Equal(100, full.GetProperty("metrics").GetProperty("correct-answer-percent").GetDouble());
    }

    [Fact]
    public async Task Run_TaskAndDataset_ExcludeEachOther()
    {
        var (code, _, err) = await Run("run", "--task", "induction", "--dataset", "x.json", "--out", Path.Combine(_dir, "o"));

        Assert.Equal(1, code);
        Assert.Equal("error: --task and --dataset exclude each other: a task brings its own dataset.", err.Trim());
    }

    [Theory]
    [InlineData("ioi", "--task ioi needs --model: GPT-2 small")]
    [InlineData("greater-than", "--task greater-than needs --model: GPT-2 small")]
    [InlineData("stories-pronoun", "--task stories-pronoun needs --model: stories260K")]
    [InlineData("nope", "--task nope: unknown task (known: induction, micro, ioi, ioi-token, greater-than, stories-pronoun).")]
    public async Task Run_TaskWithoutItsModel_SaysWhatToGive(string task, string expected)
    {
        var (code, _, err) = await Run("run", "--task", task, "--out", Path.Combine(_dir, "o"));

        Assert.Equal(1, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "o")));
    }

    [Fact]
    public async Task Run_IoiOnATextlessModel_IsAClearError()
    {
        var (code, _, err) = await Run("run", "--task", "ioi", "--model", "micro", "--out", Path.Combine(_dir, "o"));

        Assert.Equal(1, code);
        Assert.Contains("--task ioi: --model micro has no tokenizer", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_TaskOptionsCanBeOverridden()
    {
        var outDir = Path.Combine(_dir, "o");

        var (code, _, err) = await Run(
            "run", "--task", "induction", "-a", "activation-magnitude", "--batch-size", "16", "--train-size", "32", "--test-size", "16", "--token-positions",
            "--edges", "0,10,100,1296", "--out", outDir);

        Assert.True(code == 0, err);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        var data = run.RootElement.GetProperty("data");
        Assert.Equal(16, data.GetProperty("batch_size").GetInt32());
        Assert.Equal(2, data.GetProperty("train_batches").GetInt32());
        Assert.True(data.GetProperty("token_positions").GetBoolean());
        Assert.Equal(1296, run.RootElement.GetProperty("graph").GetProperty("edges").GetInt32()); // 81 edges x 16 positions
        Assert.Equal(28 * 16, run.RootElement.GetProperty("known_circuit").GetArrayLength());
    }

    [Fact]
    public async Task Run_ResidualGraph_WarnsThatTheKnownCircuitDoesNotFitAndRunsWithoutIt()
    {
        var outDir = Path.Combine(_dir, "o");

        var (code, _, err) = await Run("run", "--graph", "residual", "-a", "activation-magnitude", "--train-size", "32", "--test-size", "32", "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("warning: task induction: its known circuit names 'Resid Start->A0.0.V', which is not an edge of this graph", err, StringComparison.Ordinal);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal(JsonValueKind.Null, run.RootElement.GetProperty("known_circuit").ValueKind);
    }

    [Fact]
    public async Task Evaluate_Task_UsesItsKnownCircuitForRoc()
    {
        var runDir = Path.Combine(_dir, "run");
        var (runCode, _, runErr) = await Run("run", "--task", "induction", "-a", "activation-magnitude", "--train-size", "32", "--test-size", "32", "--edges", "0,4,81", "--out", runDir);
        Assert.True(runCode == 0, runErr);

        var evalDir = Path.Combine(_dir, "eval");
        var (code, _, err) = await Run(
            "evaluate", "--task", "induction", "--scores", Path.Combine(runDir, "scores", "activation-magnitude.json"),
            "--train-size", "32", "--test-size", "32", "--edges", "0,4,81", "--out", evalDir);

        Assert.True(code == 0, err);
        using var evaluation = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "evaluate.json")));
        Assert.Equal("task induction", evaluation.RootElement.GetProperty("circuit").GetString());
        using var circuits = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "circuits", "activation-magnitude.json")));
        Assert.True(circuits.RootElement.TryGetProperty("roc", out _));
    }

    [Fact]
    public async Task List_ShowsEveryTaskOnOneLine()
    {
        var (code, output, _) = await Run("list");

        Assert.Equal(0, code);
        var tasks = output[output.IndexOf("Tasks (--task):", StringComparison.Ordinal)..].Split('\n');
        foreach (var key in new[] { "induction", "micro", "ioi", "ioi-token", "greater-than", "stories-pronoun" })
        {
            Assert.Single(tasks, l => l.StartsWith($"  {key}  —  ", StringComparison.Ordinal));
        }

        Assert.Contains($"  {ToyModel.Name}  —  ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrainToy_ShortRun_WritesAModelTheRunCanLoad()
    {
        var outDir = Path.Combine(_dir, "toy");

        var (code, output, err) = await Run("train-toy", "--out", outDir, "--steps", "3", "--seed", "2");

        Assert.True(code == 0, err);
        var path = Path.Combine(outDir, ToyModel.FileName);
        Assert.True(File.Exists(path));
        using var info = JsonDocument.Parse(output);
        Assert.Equal("dotnet autocircuit train-toy --seed 2 --steps 3", info.RootElement.GetProperty("Recipe").GetString());
        Assert.Equal(ToyModel.HeldOutPrompts, info.RootElement.GetProperty("HeldOut").GetProperty("Prompts").GetInt32());

        // Three steps find no induction heads: the task then has an empty known circuit, which ROC cannot use.
        var (runCode, _, runErr) = await Run("run", "--model", path, "--dataset", WriteInductionDataset(), "-a", "activation-magnitude", "--train-size", "32",
            "--test-size", "32", "--edges", "0,1,81", "--out", Path.Combine(_dir, "run"));
        Assert.True(runCode == 0, runErr);
        Assert.Contains("model toy-induction", runErr, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2/model.safetensors")]
    public async Task Run_IoiOnFakeGpt2_SmokeTest()
    {
        // fake-gpt2 is a random 1-layer GPT-2 with GPT-2's tokenizer: the outputs are meaningless; this only shows that
        // the IOI task is definable with a GPT-2 folder and runs end to end.
        var outDir = Path.Combine(_dir, "ioi");

        var (code, _, err) = await Run(
            "run", "--task", "ioi-token", "--model", ModelFixtures.Shared("fake-gpt2")!, "-a", "activation-magnitude", "--train-size", "32", "--test-size", "32",
            "--edges", "0,1,104", "--tail-divergence", "--out", outDir);

        Assert.True(code == 0, err);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        var data = run.RootElement.GetProperty("data");
        Assert.Equal(3, data.GetProperty("diverge_index").GetInt32()); // BOS "Then" "," are shared; S1 is a name
        Assert.Equal(13, run.RootElement.GetProperty("graph").GetProperty("seq_len").GetInt32());
        Assert.Equal("IO", data.GetProperty("seq_labels")[2].GetString()); // "S1" " and" "IO" …
    }

    private string WriteInductionDataset()
    {
        var doc = AutoCircuit.Host.Tasks.InductionTask.Dataset(64, seed: 11);
        var prompts = doc.Prompts.Select(p => new
        {
            clean = p.Clean.Values!.Select(v => (long)v),
            corrupt = p.Corrupt.Values!.Select(v => (long)v),
            answers = p.Answers.Ids,
            wrong_answers = p.WrongAnswers.Ids,
        });
        var path = Path.Combine(_dir, "induction.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { prompts }));
        return path;
    }
}
