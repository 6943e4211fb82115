using System.Text.Json;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Testing;
using AutoCircuit.Tool.Cli;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>
/// The command line on every family's tiny checkpoint, in process: <c>logits --all-positions</c> keeps its JSON and
/// matches the reference, <c>run</c> with the default algorithm set finishes with every algorithm ok, and
/// <c>list --model</c> reports the graph sizes.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class FamilyCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-family-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Families => FamilyPatchingTests.Families;

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [MemberData(nameof(Families))]
    public async Task Logits_AllPositions_MatchesReferenceForEveryFamily(string name)
    {
        using var reference = ModelFixtures.Reference(name);
        var c = reference.RootElement.GetProperty("cases")[0];
        var ids = c.GetProperty("tokens")[0].EnumerateArray().Select(e => e.GetInt64()).ToArray();
        using var expected = TestFixtures.ToTensor(c.GetProperty("logits"))[0]; // [T, V]

        var (code, output, err) = await Run(
            "logits", "--model", ModelFixtures.Folder(name), "--tokens", string.Join(",", ids), "--all-positions", "--device", "cpu");

        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(["model", "tokens", "positions", "logits"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("all", json.RootElement.GetProperty("positions").GetString());
        Assert.StartsWith(name + " (", json.RootElement.GetProperty("model").GetString(), StringComparison.Ordinal);
        Assert.Equal(ids, json.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt64()));
        using var actual = TestFixtures.ToTensor(json.RootElement.GetProperty("logits"));
        TensorAssert.AllClose(expected, actual, 1e-4, 0, $"{name} CLI logits");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public async Task Run_DefaultAlgorithms_EveryAlgorithmOk(string name)
    {
        var (code, err, algorithms, run) = await RunJob(name);

        Assert.True(code == 0, err);
        Assert.Equal(["activation-magnitude", "mask-gradient", "acdc", "subnetwork-probing", "random"], algorithms.Select(a => a.Key));
        Assert.All(algorithms, a => Assert.Equal("ok", a.Status));
        Assert.StartsWith(name + " (", run, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public async Task Run_GradientAndActivationAlgorithms_OkOnEveryFamily(string name)
    {
        var (code, err, algorithms, _) = await RunJob(name, "-a", "mask-gradient", "-a", "activation-magnitude");

        Assert.True(code == 0, err);
        Assert.Equal(["mask-gradient", "activation-magnitude"], algorithms.Select(a => a.Key));
        Assert.All(algorithms, a => Assert.Equal("ok", a.Status));
    }

    private async Task<(int Code, string Err, List<(string? Key, string? Status)> Algorithms, string? Model)> RunJob(string name, params string[] extra)
    {
        var data = Path.Combine(_dir, "ids.json");
        File.WriteAllText(data, TokenDataset(8));
        var outDir = Path.Combine(_dir, "out-" + Guid.NewGuid().ToString("N"));

        var (code, _, err) = await Run(
            ["run", "--model", ModelFixtures.Folder(name), "--dataset", data, "--batch-size", "2", "--train-size", "4",
             "--test-size", "4", "--edges", "0,10,50", "--device", "cpu", "--out", outDir, .. extra]);
        if (code != 0)
        {
            return (code, err, [], null);
        }

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        var algorithms = run.RootElement.GetProperty("algorithms").EnumerateArray()
            .Select(a => (a.GetProperty("key").GetString(), a.GetProperty("status").GetString())).ToList();
        return (code, err, algorithms, run.RootElement.GetProperty("model").GetProperty("description").GetString());
    }

    [Fact]
    public async Task WeightDType_Bf16CheckpointInFloat32_SameLogitsAndRunsMaskGradient()
    {
        var folder = Path.Combine(_dir, "qwen2-bf16");
        var cfg = AutoCircuit.Models.Checkpoints.HfConfig.Load(Path.Combine(ModelFixtures.Folder("qwen2-random"), "config.json"));
        AutoCircuit.Models.Checkpoints.RandomCheckpoint.Write(cfg, folder, TorchSharp.torch.ScalarType.BFloat16, seed: 2);
        string[] logits = ["logits", "--model", folder, "--tokens", "1,5,9,13,2", "--all-positions", "--device", "cpu", "--dtype", "float32"];

        var (code, copied, err) = await Run(logits);
        var (code2, mapped, err2) = await Run([.. logits, "--weight-dtype", "bfloat16"]);

        Assert.True(code == 0, err);
        Assert.True(code2 == 0, err2);
        using var a = JsonDocument.Parse(copied);
        using var b = JsonDocument.Parse(mapped);
        Assert.Equal(a.RootElement.GetProperty("logits").GetRawText(), b.RootElement.GetProperty("logits").GetRawText());
        Assert.Contains("float32 compute, weights bfloat16", b.RootElement.GetProperty("model").GetString(), StringComparison.Ordinal);

        var data = Path.Combine(_dir, "ids.json");
        File.WriteAllText(data, TokenDataset(8));
        var outDir = Path.Combine(_dir, "out-weight-dtype");
        var (runCode, _, runErr) = await Run(
            "run", "--model", folder, "--dataset", data, "--batch-size", "2", "--train-size", "4", "--test-size", "4", "--edges", "0,10,50",
            "--device", "cpu", "--weight-dtype", "bf16", "-a", "mask-gradient", "--out", outDir);
        Assert.True(runCode == 0, runErr);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("ok", run.RootElement.GetProperty("algorithms")[0].GetProperty("status").GetString());
        Assert.Contains("weights bfloat16", run.RootElement.GetProperty("model").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ModelConfig_ReportsGraphSizesWithoutWeights()
    {
        var (code, output, err) = await Run("list", "--model", "llama-3.1-8b");
        var (code2, folder, err2) = await Run("list", "--model", ModelFixtures.Folder("gemma2-random"));

        Assert.True(code == 0, err);
        Assert.True(code2 == 0, err2);

        // 32 layers x (32 heads + MLP) + Resid Start; Q per head, K and V per KV head (8), MLP: 32 x 49 + Resid End.
        Assert.Contains("factorized, separate Q/K/V: 1057 sources, 1569 destinations, 805681 edges", output, StringComparison.Ordinal);
        Assert.Contains("llama-3.1-8b (llama: 32 layers, 32 heads / 8 KV heads, d_model 4096, vocab 128256)", output, StringComparison.Ordinal);

        // 3 layers x (4 heads + MLP) + 1 sources; 3 x (4 Q + 2 K + 2 V + MLP) + 1 destinations.
        Assert.Contains("factorized, separate Q/K/V: 16 sources, 28 destinations,", folder, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama-3.1-8b")]
    [InlineData("llama-3.2-1b")]
    [InlineData("qwen2.5-0.5b")]
    [InlineData("qwen3-0.6b")]
    [InlineData("mistral-7b-v0.1")]
    [InlineData("gemma-2-2b")]
    [InlineData("gemma-3-1b")]
    [InlineData("pythia-160m")]
    [InlineData("olmo-2-1b")]
    public async Task List_KnownConfig_ReportsThreeGraphsWithConsistentCounts(string name)
    {
        var (code, output, err) = await Run("list", "--model", name);

        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var sizes = lines.Skip(1).Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^  (.+): (\d+) sources, (\d+) destinations, (\d+) edges"))
            .Select(m => (Graph: m.Groups[1].Value, Src: long.Parse(m.Groups[2].Value), Dst: long.Parse(m.Groups[3].Value), Edges: long.Parse(m.Groups[4].Value)))
            .ToList();
        Assert.Equal(["factorized, separate Q/K/V", "factorized, joint Q/K/V", "residual"], sizes.Select(s => s.Graph));

        // Every layer's heads and MLP are sources in the factorized graphs (plus the embeddings), and a layer's
        // destinations see only the sources before them, so edges < sources x destinations.
        Assert.Equal(sizes[0].Src, sizes[1].Src);
        Assert.True(sizes[0].Dst > sizes[1].Dst, "separate Q/K/V has more destinations than joint");
        Assert.All(sizes, s => Assert.InRange(s.Edges, 1, (s.Src * s.Dst) - 1));
    }

    [Fact]
    public async Task List_ModelThatIsNeitherFolderNorKnown_IsAUsageError()
    {
        var (code, _, err) = await Run("list", "--model", Path.Combine(_dir, "nothing-here"));

        Assert.Equal(1, code);
        Assert.Contains("nothing-here", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logits_DTypeBFloat16_PrintsFloat32NearTheReference_AndAnUnknownDTypeIsRefused()
    {
        const string name = "qwen2-random";
        using var reference = ModelFixtures.Reference(name);
        var c = reference.RootElement.GetProperty("cases")[0];
        var ids = string.Join(",", c.GetProperty("tokens")[0].EnumerateArray().Select(e => e.GetInt64()));
        using var expected = TestFixtures.ToTensor(c.GetProperty("logits"))[0];

        var (code, output, err) = await Run("logits", "--model", ModelFixtures.Folder(name), "--tokens", ids, "--all-positions", "--dtype", "bfloat16", "--device", "cpu");
        var (bad, _, badErr) = await Run("logits", "--model", ModelFixtures.Folder(name), "--tokens", ids, "--dtype", "int8", "--device", "cpu");

        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        using var actual = TestFixtures.ToTensor(json.RootElement.GetProperty("logits"));
        using var diff = actual - expected;
        Assert.True(diff.abs().max().ToDouble() <= 0.05 * expected.abs().max().ToDouble(), "bfloat16 CLI logits"); // as RandomCheckpointAndDTypeTests
        Assert.Equal(1, bad);
        Assert.Contains("--dtype int8: expected float32, bfloat16 or float16.", badErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_DTypeBFloat16_MaskGradientOkAndTheBuffersFollow()
    {
        var (code, err, algorithms, _) = await RunJob("llama-random-llama3", "-a", "mask-gradient", "--dtype", "bfloat16");

        Assert.True(code == 0, err);
        Assert.Equal([("mask-gradient", "ok")], algorithms);
    }

    [Fact]
    public async Task RandomCheckpoint_ThenLogitsAndList_OnTheNewFolder()
    {
        var folder = Path.Combine(_dir, "rand");
        var config = Path.Combine(ModelFixtures.Folder("gemma3-random"), "config.json");

        var (code, _, err) = await Run("random-checkpoint", "--config", config, "--out", folder, "--seed", "9");
        var (logits, output, err2) = await Run("logits", "--model", folder, "--tokens", "2,7,11", "--device", "cpu");
        var (list, sizes, err3) = await Run("list", "--model", folder);
        var (again, _, err4) = await Run("random-checkpoint", "--config", config, "--out", folder);

        Assert.True(code == 0, err);
        Assert.Contains("MiB of weights to", err, StringComparison.Ordinal);
        Assert.True(logits == 0, err2);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(96, json.RootElement.GetProperty("logits").GetArrayLength()); // the last position's logits
        Assert.True(list == 0, err3);
        Assert.StartsWith("rand (gemma3_text:", sizes, StringComparison.Ordinal);
        Assert.Equal(1, again);
        Assert.Contains("not empty", err4, StringComparison.Ordinal);
    }

    /// <summary>Prompts of 7 token ids (below every fixture's vocabulary); corrupt prompts differ in the last two.</summary>
    private static string TokenDataset(int prompts)
    {
        var rng = new System.Random(3);
        var items = Enumerable.Range(0, prompts).Select(_ =>
        {
            var clean = Enumerable.Range(0, 7).Select(_ => rng.Next(3, 90)).ToArray();
            var corrupt = clean.Select((t, i) => i >= 5 ? rng.Next(3, 90) : t).ToArray();
            var answer = rng.Next(3, 90);
            return $"{{\"clean\": [{string.Join(", ", clean)}], \"corrupt\": [{string.Join(", ", corrupt)}], " +
                   $"\"answers\": [{answer}], \"wrong_answers\": [{(answer + 7) % 90}]}}";
        });
        return $"{{\"prompts\": [{string.Join(", ", items)}]}}";
    }
}
