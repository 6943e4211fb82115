using System.Text.Json;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Tool.Cli;
using Microsoft.DotNet.Interactive.Formatting;
using Xunit;

namespace AutoCircuit.Host.Tests.Library;

/// <summary>
/// The library facade (src/AutoCircuit, docs/library.md) against the command line: Model.Load → Patchable →
/// Algorithm.Run → Circuits.Evaluate on the same input gives what <c>dotnet autocircuit run</c> wrote into its results
/// folder (scores/&lt;key&gt;.json and circuits/&lt;key&gt;.json), read back from the files.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class LibraryFacadeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-lib-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> RunCli(params string[] args)
    {
        var folder = Path.Combine(_dir, "cli");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(["run", .. args, "--out", folder], output, error);
        Assert.True(code == 0, $"run exited {code}: {error}");
        return folder;
    }

    [Theory]
    [InlineData("micro", "mask-gradient")]
    [InlineData("micro", "acdc")]
    [InlineData("toy-induction", "activation-magnitude")]
    [InlineData("toy-induction", "ground-truth")]
    public async Task Facade_GivesTheScoresAndCircuitsOfTheCliRun(string modelSpec, string algorithm)
    {
        var folder = await RunCli("--model", modelSpec, "-a", algorithm);

        using var model = AutoCircuit.Model.Load(modelSpec);
        var patchable = model.Patchable();
        using var scores = Algorithm.Run(algorithm, patchable, model);
        var sweep = Circuits.Evaluate(scores, patchable, model);

        // Scores: every edge, as written by the CLI (JSON keeps float32 exactly).
        var cli = ScoresFile.ReadJson(Path.Combine(folder, "scores", algorithm + ".json"), patchable.Graph);
        using (cli.Scores)
        {
            Assert.Equal(cli.Scores.EdgeCount, scores.Scores.EdgeCount);
            var expected = cli.Scores.RankedEdges().ToDictionary(e => e.Edge, e => e.Score);
            var actual = scores.Scores.RankedEdges().ToDictionary(e => e.Edge, e => e.Score);
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (edge, value) in expected)
            {
                Assert.True(
                    Math.Abs(value - actual[edge]) <= 1e-6 * Math.Max(1, Math.Abs(value)),
                    $"{edge}: CLI {value}, library {actual[edge]}");
            }
        }

        // Circuits: the same sizes and every metric of every size, and the areas.
        var file = JsonSerializer.Deserialize(
            File.ReadAllText(Path.Combine(folder, "circuits", algorithm + ".json")), OutputJsonContext.Default.CircuitEvaluationFile)!;
        Assert.Equal(file.Results.Select(r => (r.Requested, r.Edges)), sweep.Results.Select(r => (r.Requested, r.Edges)));
        foreach (var (written, computed) in file.Results.Zip(sweep.Results))
        {
            foreach (var (metric, value) in written.Metrics)
            {
                AssertClose(value, computed.Metrics[metric], $"{metric} at {written.Requested} edges");
            }
        }

        foreach (var (metric, value) in file.Auc)
        {
            AssertClose(value, sweep.Auc(metric), $"AUC of {metric}");
        }

        Assert.Equal(file.Roc is null, sweep.Evaluation.Roc is null);
    }

    private static void AssertClose(double? expected, double? actual, string what)
    {
        if (expected is null || actual is null || !double.IsFinite(expected.Value))
        {
            // The file writes NaN and infinities as null.
            Assert.True(expected is null == (actual is null || !double.IsFinite(actual.Value)), $"{what}: CLI {expected}, library {actual}");
            return;
        }

        Assert.True(Math.Abs(expected.Value - actual!.Value) <= 1e-9 * Math.Max(1, Math.Abs(expected.Value)), $"{what}: CLI {expected}, library {actual}");
    }

    [Fact]
    public async Task Report_IsTheRunsReportForTheSameAlgorithms()
    {
        var folder = await RunCli("--model", "micro", "-a", "mask-gradient", "-a", "random");

        using var model = AutoCircuit.Model.Load("micro");
        var patchable = model.Patchable();
        using var eap = Algorithm.Run("mask-gradient", patchable, model);
        using var random = Algorithm.Run("random", patchable, model);
        var html = Report.Html(model, patchable, [Circuits.Evaluate(eap, patchable, model), Circuits.Evaluate(random, patchable, model)]);

        var cli = File.ReadAllText(Path.Combine(folder, "report.html"));
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.OrdinalIgnoreCase);
        foreach (var section in new[] { "mask-gradient", "random", "<svg" })
        {
            Assert.Contains(section, cli, StringComparison.Ordinal);
            Assert.Contains(section, html, StringComparison.Ordinal);
        }

        var path = Report.Save(Path.Combine(_dir, "report.html"), model, patchable, [Circuits.Evaluate(eap, patchable, model)]);
        Assert.True(new FileInfo(path).Length > 1000);
    }

    [Fact]
    public void Formatters_RenderScoresAndCircuitsAsHtmlTablesAndSvg()
    {
        using var model = AutoCircuit.Model.Load("micro");
        var patchable = model.Patchable();
        using var scores = Algorithm.Run("mask-gradient", patchable, model, new Dictionary<string, string> { ["answer-function"] = "avg-diff" });
        var sweep = Circuits.Evaluate(scores, patchable, model, new CircuitOptions { Edges = "0,5,10" });

        Notebook.Register();
        var scoresHtml = scores.ToDisplayString(Notebook.MimeType);
        var sweepHtml = sweep.ToDisplayString(Notebook.MimeType);

        var top = scores.Top(1)[0];
        Assert.Contains("<table>", scoresHtml, StringComparison.Ordinal);
        Assert.Contains($"<td>{System.Net.WebUtility.HtmlEncode(top.Edge.Name)}</td>", scoresHtml, StringComparison.Ordinal);
        Assert.Contains("<svg", scoresHtml, StringComparison.Ordinal);
        Assert.Contains("<svg", sweepHtml, StringComparison.Ordinal);
        Assert.Equal([0, 5, 10, patchable.Graph.EdgeCount], sweep.Results.Select(r => r.Requested));
        Assert.Contains($"<tr><td>5</td><td>{sweep.Results[1].Edges}</td>", sweepHtml, StringComparison.Ordinal);
        Assert.Contains("answer-function", string.Join(",", scores.Options.Select(o => o.Key)), StringComparison.Ordinal);
        Assert.Contains("<tr><th>model</th><td>micro</td></tr>", model.ToDisplayString(Notebook.MimeType), StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_AreClear()
    {
        var unknownModel = Assert.Throws<Engine.AutoCircuitException>(() => AutoCircuit.Model.Load("no such model"));
        Assert.Contains("not a built-in model", unknownModel.Message, StringComparison.Ordinal);

        using var model = AutoCircuit.Model.Load("micro");
        var patchable = model.Patchable();
        var unknown = Assert.Throws<Engine.AutoCircuitException>(() => Algorithm.Run("mask-gradiant", patchable, model));
        Assert.Contains("did you mean 'mask-gradient'", unknown.Message, StringComparison.Ordinal);
        var noKnownCircuit = Assert.Throws<Engine.AutoCircuitException>(() => Algorithm.Run("ground-truth", patchable, model));
        Assert.Contains("known circuit", noKnownCircuit.Message, StringComparison.Ordinal);
        Assert.Contains("mask-gradient", Algorithm.Keys);
    }
}
