using System.Text.Json;
using AutoCircuit.Testing;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>The command line end to end, in process, with captured stdout/stderr.</summary>
[Collection(nameof(SeededCollection))]
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string WriteDataset(string json)
    {
        var path = Path.Combine(_dir, "data.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string MicroDataset(int prompts)
    {
        var items = Enumerable.Range(0, prompts).Select(i =>
            $"{{\"clean\": [[{i % 3 + 1}, 2], [1, {i % 2 + 1}], [{i % 5 - 2}, 1]], \"corrupt\": [[-1, -2], [-1, -1], [1, -1]], \"answers\": [{i % 2}], \"wrong_answers\": [{1 - (i % 2)}]}}");
        return $"{{\"prompts\": [{string.Join(", ", items)}]}}";
    }

    [Fact]
    public async Task Run_UnknownFlag_ReturnsUsageError()
    {
        var (code, _, err) = await Run("run", "--no-such-flag");

        Assert.Equal(1, code);
        Assert.Contains("--no-such-flag", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitCodesOnceInTheRootHelp_NotUnderEachCommand()
    {
        var (rootCode, rootHelp, _) = await Run("--help");
        Assert.Equal(0, rootCode);
        Assert.Contains("Exit codes: 0 ok; 1 usage error", rootHelp, StringComparison.Ordinal);

        foreach (var command in CommandLine.Build(TextWriter.Null, TextWriter.Null).Subcommands.Where(c => !c.Hidden))
        {
            var (code, output, _) = await Run(command.Name, "--help");
            Assert.Equal(0, code);
            Assert.DoesNotContain("Exit codes:", output, StringComparison.Ordinal);
        }

        var (_, runHelp, _) = await Run("run", "--help");
        Assert.Contains("--token-positions", runHelp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_HiddenCommand_ExplainsItselfButStaysOutOfTheRootList()
    {
        var (rootCode, rootHelp, _) = await Run("--help");
        Assert.Equal(0, rootCode);
        Assert.DoesNotContain("random-checkpoint", rootHelp, StringComparison.Ordinal);

        var (code, help, _) = await Run("random-checkpoint", "--help");
        Assert.Equal(0, code);
        Assert.Contains("Write a random checkpoint", help, StringComparison.Ordinal);
        Assert.Contains("--config", help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("error: unknown option '--modle' for 'dotnet autocircuit run'; did you mean '--model'?", "run", "--modle", "micro")]
    [InlineData("error: unknown option '--batchsize' for 'dotnet autocircuit compare'; did you mean '--batch-size'?", "compare", "--batchsize", "4")]
    [InlineData("error: unknown command 'runn' for 'dotnet autocircuit'; did you mean 'run'?", "runn")]
    [InlineData("error: unknown command 'lsit' for 'dotnet autocircuit'; did you mean 'list'?", "lsit")]
    [InlineData("error: unknown option '--zzzzzz' for 'dotnet autocircuit run' ('dotnet autocircuit run --help' lists the options).", "run", "--zzzzzz")]
    [InlineData("error: Unknown algorithm 'mask-gradiant'; did you mean 'mask-gradient'? ('dotnet autocircuit list' shows every algorithm and preset.)", "run", "--model", "micro", "-a", "mask-gradiant")]
    [InlineData("error: Unknown algorithm 'acdcc'; did you mean 'acdc'? ('dotnet autocircuit list' shows every algorithm and preset.)", "run", "--model", "micro", "-a", "acdcc:tau-exps=-2")]
    public async Task Typo_OneLineDidYouMean_ExitCodeOne(string line, params string[] args)
    {
        var (code, output, err) = await Run([.. args, "--out", Path.Combine(_dir, "out")]);

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Equal(line, err.Trim());
    }

    [Fact]
    public async Task Run_MicroWithDataset_WritesRunJsonAndScores()
    {
        var data = WriteDataset(MicroDataset(8));
        var outDir = Path.Combine(_dir, "out");

        var (code, output, err) = await Run(
            "run", "--model", "micro", "--dataset", data, "--batch-size", "2", "--train-size", "4", "--test-size", "2", "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("| 1 | ", output, StringComparison.Ordinal);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal(42, run.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal("ok", run.RootElement.GetProperty("algorithms")[0].GetProperty("status").GetString());
        using var scores = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "activation-magnitude.json")));
        Assert.Equal("activation-magnitude", scores.RootElement.GetProperty("algorithm").GetString());
        Assert.Equal(13, scores.RootElement.GetProperty("graph").GetProperty("edges").GetInt32()); // 2 + 2*3 + 5
        Assert.Equal(3, scores.RootElement.GetProperty("scores").EnumerateObject().Count());
        Assert.True(File.Exists(Path.Combine(outDir, "scores", "activation-magnitude.safetensors")));
    }

    [Theory]
    [InlineData("{\"prompts\": [", "data.json:1:")]
    [InlineData("{\"seq_labels\": []}", "missing \"prompts\"")]
    public async Task Run_BadDataset_OneLineErrorAndNoResults(string json, string expected)
    {
        var data = WriteDataset(json);
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run("run", "--model", "micro", "--dataset", data, "--out", outDir);

        Assert.Equal(1, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(_dir));
    }

    [Theory]
    [InlineData("no-such-algorithm", "Unknown algorithm 'no-such-algorithm'. Known algorithms: ")]
    [InlineData("activation-magnitude:colour=red", "has no options, but 'colour' was given")]
    [InlineData("activation-magnitude:oops", "'oops' is not name=value")]
    public async Task Run_BadAlgorithmSpec_ReturnsUsageError(string spec, string expected)
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run("run", "--model", "micro", "-a", spec, "--out", outDir);

        Assert.Equal(1, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Run_TokenPositionsWithDifferentLengths_ReturnsUsageError()
    {
        var data = WriteDataset("""
            {"prompts": [
              {"clean": [[1, 2], [3, 4]], "corrupt": [[1, 2], [3, 4]], "answers": [1], "wrong_answers": [0]},
              {"clean": [[5, 6]], "corrupt": [[5, 6]], "answers": [0], "wrong_answers": [1]}
            ]}
            """);

        var (code, _, err) = await Run("run", "--model", "micro", "--dataset", data, "--token-positions", "--batch-size", "1",
            "--train-size", "1", "--test-size", "1", "--out", Path.Combine(_dir, "o"));

        Assert.Equal(1, code);
        Assert.Contains("same shape", err, StringComparison.Ordinal);
    }

    [WithoutCudaFact]
    public async Task Run_CudaOnCpuMachine_ReturnsDeviceUnavailable()
    {
        var (code, _, err) = await Run("run", "--model", "micro", "--device", "cuda", "--out", Path.Combine(_dir, "o"));

        Assert.Equal(3, code);
        Assert.Contains("CUDA is not available", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ExistingNonEmptyOut_RefusesAndKeepsIt()
    {
        var outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "x");

        var (code, _, err) = await Run("run", "--model", "micro", "--out", outDir);

        Assert.Equal(1, code);
        Assert.Contains("not empty", err, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(outDir, "keep.txt")));
    }

    [Fact]
    public async Task Run_GroundTruthAndTiedAcdc_CurvesFromZeroToAllEdgesAndMaxFloatInWords()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, output, err) = await Run(
            "run", "--task", "induction", "-a", "ground-truth", "-a", "acdc:tau-exps=-2,tau-bases=1", "--train-size", "32",
            "--test-size", "32", "--out", outDir);

        Assert.True(code == 0, err);

        // Ground truth's two score groups give one size (its circuit) by auto-circuit's rule; run adds 0 and all edges.
        using var gt = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "circuits", "ground-truth.json")));
        Assert.Equal([0, 28, 81], gt.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("edges").GetInt32()));

        // ACDC's never-removed edges score max float: written in words, with what it means, never as 3.40282E+38.
        Assert.Contains("| ≥3.4e38 (max float) |", output, StringComparison.Ordinal);
        Assert.Contains("no threshold τ removed the edge", output, StringComparison.Ordinal);
        Assert.DoesNotContain("E+38", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_ShowsActivationMagnitudeAndModels()
    {
        var (code, output, _) = await Run("list");

        Assert.Equal(0, code);
        Assert.Contains("activation-magnitude", output, StringComparison.Ordinal);
        Assert.Contains("micro", output, StringComparison.Ordinal);
    }
}
