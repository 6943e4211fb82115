using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Models.Micro;
using AutoCircuit.Tool.Cli;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary><c>list</c> and <c>run</c> with <c>--plugins</c>: the sample plugin next to built-ins, and bad _plugins.</summary>
[Collection(nameof(SeededCollection))]
public sealed class PluginCliTests : IDisposable
{
    private readonly TestPlugins _plugins = TestPlugins.Shared;
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-plugin-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string Sample => Path.Combine(_plugins.Good, "SamplePlugin", "SamplePlugin.dll");

    [Theory]
    [InlineData("run")]
    [InlineData("list")]
    [InlineData("compare")]
    public async Task Help_CommandsTakingAlgorithms_ExplainPlugins(string command)
    {
        var (code, output, _) = await Run(command, "--help");

        Assert.Equal(0, code);
        Assert.Contains("--plugins <DIR>", output, StringComparison.Ordinal);
        Assert.Contains("AUTOCIRCUIT_PLUGINS", output, StringComparison.Ordinal);
        Assert.Contains("~/.autocircuit/plugins", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_GoodPlugins_ShowsThemWithOriginAndOptions()
    {
        var (code, output, err) = await Run("list", "--plugins", _plugins.Good);

        Assert.True(code == 0, err);
        Assert.Contains($"sample-source-magnitude  —  Source magnitude (sample plugin)  [plugin SamplePlugin: {Sample}]", output, StringComparison.Ordinal);
        Assert.Contains("normalize=false  (bool) Divide every score by the largest |score|.", output, StringComparison.Ordinal);
        Assert.Contains("activation-magnitude  —  Activation Magnitude (Act Mag)  [built-in]", output, StringComparison.Ordinal);
        Assert.Contains("test-constant", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_BrokenPlugins_WarnsOnStderrAndSucceeds()
    {
        var (code, output, err) = await Run("list", "--plugins", _plugins.Broken);

        Assert.Equal(0, code);
        Assert.Contains("activation-magnitude", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", output, StringComparison.Ordinal);
        Assert.Contains("warning: plugin MissingDependencyPlugin (", err, StringComparison.Ordinal);
        Assert.Contains("was skipped: a dependency is missing: FileNotFoundException: Could not load file or assembly 'Helper", err, StringComparison.Ordinal);
        Assert.Contains("warning: plugin FutureSdkPlugin (", err, StringComparison.Ordinal);
        Assert.Contains($"built against AutoCircuit.Abstractions 2.0.0.0, but this host provides {PluginLoading.HostSdkVersion} (a different major version", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_PluginsFromEnvironmentVariable_Loaded()
    {
        var before = Environment.GetEnvironmentVariable(PluginSearchPath.EnvironmentVariable);
        Environment.SetEnvironmentVariable(PluginSearchPath.EnvironmentVariable, $"{Path.Combine(_dir, "none")}{Path.PathSeparator}{_plugins.Good}");
        try
        {
            var (code, output, err) = await Run("list");

            Assert.Equal(0, code);
            Assert.Contains($"[plugin SamplePlugin: {Sample}]", output, StringComparison.Ordinal);
            Assert.Contains($"warning: AUTOCIRCUIT_PLUGINS names {Path.Combine(_dir, "none")}, which does not exist.", err, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PluginSearchPath.EnvironmentVariable, before);
        }
    }

    [Fact]
    public async Task Run_MissingPluginsFolder_ReturnsUsageError()
    {
        var (code, _, err) = await Run("run", "--model", "micro", "--plugins", Path.Combine(_dir, "nowhere"), "--out", Path.Combine(_dir, "o"));

        Assert.Equal(1, code);
        Assert.Contains("folder not found", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SamplePluginNextToBuiltIn_WritesTheSameFilesAndScores()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, output, err) = await Run(
            "run", "--model", "micro", "-a", "activation-magnitude", "-a", "sample-source-magnitude", "--plugins", _plugins.Good, "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("## sample-source-magnitude (Source magnitude (sample plugin))", output, StringComparison.Ordinal);
        Assert.Equal(
            ["activation-magnitude.json", "activation-magnitude.safetensors", "sample-source-magnitude.json", "sample-source-magnitude.safetensors"],
            Directory.GetFiles(Path.Combine(outDir, "scores")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var builtIn = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "activation-magnitude.json")));
        using var plugin = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "sample-source-magnitude.json")));
        Assert.Equal("sample-source-magnitude", plugin.RootElement.GetProperty("algorithm").GetString());
        Assert.Equal(builtIn.RootElement.GetProperty("graph").GetRawText(), plugin.RootElement.GetProperty("graph").GetRawText());
        // The sample computes activation magnitude the same way, on the same tensors (shared across the plugin boundary).
        Assert.Equal(builtIn.RootElement.GetProperty("scores").GetRawText(), plugin.RootElement.GetProperty("scores").GetRawText());
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(outDir, "scores", "activation-magnitude.safetensors")).Length,
            File.ReadAllBytes(Path.Combine(outDir, "scores", "sample-source-magnitude.safetensors")).Length);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        var record = run.RootElement.GetProperty("algorithms")[1];
        Assert.Equal(("ok", Sample), (record.GetProperty("status").GetString(), record.GetProperty("origin").GetString()));
    }

    [Fact]
    public async Task Compare_SamplePluginNextToBuiltIn_AgreesWithTheSameComputation()
    {
        var outDir = Path.Combine(_dir, "cmp");

        var (code, output, err) = await Run(
            "compare", "--model", "micro", "--batch-size", "4", "--train-size", "8", "--test-size", "8",
            "-a", "activation-magnitude", "-a", "sample-source-magnitude", "--plugins", _plugins.Good, "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("| sample-source-magnitude |", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "compare.json")));
        var algorithms = json.RootElement.GetProperty("algorithms");
        Assert.Equal(Sample, algorithms[1].GetProperty("origin").GetString());
        Assert.Equal(algorithms[0].GetProperty("edge_patch").GetRawText(), algorithms[1].GetProperty("edge_patch").GetRawText());
        var pair = json.RootElement.GetProperty("agreement").GetProperty("pairs")[0];
        Assert.Equal(1.0, pair.GetProperty("spearman").GetDouble(), 12);
    }

    [Fact]
    public void Catalog_AllOrder_IsBuiltInsThenPluginsInSearchOrder()
    {
        // Two plugin folders: the sample alone first, then the good folder (whose own SamplePlugin copy loses its key).
        var first = Path.Combine(_dir, "first");
        CopyDirectory(TestPlugins.SampleOutput, Path.Combine(first, "SamplePlugin"));

        var catalog = AlgorithmCatalog.Load(PluginSearchPath.Resolve([first, _plugins.Good], null, null));
        var order = catalog.BuiltInsThenPlugins.ToList();

        var builtIns = AlgorithmCatalog.BuiltIn().Entries.Select(e => e.Descriptor.Key).ToList();
        Assert.True(builtIns.Count >= 10, string.Join(", ", builtIns));
        Assert.Equal(builtIns, order.Take(builtIns.Count).Select(e => e.Descriptor.Key));
        Assert.All(order.Take(builtIns.Count), e => Assert.True(e.IsBuiltIn && e.PluginName is null));
        var plugins = order.Skip(builtIns.Count).ToList();
        Assert.Equal("sample-source-magnitude", plugins[0].Descriptor.Key);
        Assert.Equal(Path.Combine(first, "SamplePlugin", "SamplePlugin.dll"), plugins[0].Origin);
        Assert.Equal("SamplePlugin", plugins[0].PluginName);
        Assert.Equal($"plugin SamplePlugin: {plugins[0].Origin}", plugins[0].OriginText);
        Assert.Contains(plugins, e => e.Descriptor.Key == "test-constant" && e.PluginName == "ConstantPlugin");
        Assert.All(plugins.Skip(1), e => Assert.StartsWith(_plugins.Good, e.Origin, StringComparison.Ordinal));
        Assert.Equal(catalog.Entries.Count, order.Count);
        Assert.Contains(catalog.Warnings, w => w.Contains("'sample-source-magnitude'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Compare_WithoutAlgorithms_RunsEveryBuiltInThenThePlugins()
    {
        var folder = Path.Combine(_dir, "sample-only");
        CopyDirectory(TestPlugins.SampleOutput, Path.Combine(folder, "SamplePlugin"));
        var outDir = Path.Combine(_dir, "cmp-all");

        var (code, output, err) = await Run(
            "compare", "--model", "micro", "--batch-size", "4", "--train-size", "4", "--test-size", "4", "--edges", "0,5",
            "--plugins", folder, "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("| sample-source-magnitude |", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "compare.json")));
        var algorithms = json.RootElement.GetProperty("algorithms").EnumerateArray().ToList();
        Assert.True(algorithms.Count > 5, $"{algorithms.Count} algorithms");
        Assert.Equal("sample-source-magnitude", algorithms[^1].GetProperty("label").GetString());
        Assert.Equal(Path.Combine(folder, "SamplePlugin", "SamplePlugin.dll"), algorithms[^1].GetProperty("origin").GetString());
        Assert.All(algorithms.SkipLast(1), a => Assert.Equal(AlgorithmCatalog.BuiltInOrigin, a.GetProperty("origin").GetString()));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public async Task Run_PluginOptionsInScoreFile_RecreateTheAlgorithm()
    {
        var outDir = Path.Combine(_dir, "out");
        var (code, _, err) = await Run(
            "run", "--model", "micro", "-a", "sample-source-magnitude:normalize=true", "--plugins", _plugins.Good, "--out", outDir);
        Assert.True(code == 0, err);
        var catalog = AlgorithmCatalog.Load(PluginSearchPath.Resolve([_plugins.Good], null, null));
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(Factorized: true));

        var loaded = ScoresFile.ReadJson(Path.Combine(outDir, "scores", "sample-source-magnitude.json"), model.Graph);
        using var scores = loaded.Scores;
        Assert.True(catalog.TryGet(loaded.Algorithm, out var entry));
        var recreated = entry.Descriptor.CreateFromJson(loaded.Options);

        Assert.Equal(true, Assert.Single(recreated.Options).Value);
        using var flat = scores.Flatten();
        using var magnitude = flat.abs();
        using var largest = magnitude.max();
        Assert.Equal(1f, largest.ToSingle(), 6);
    }

    [Fact]
    public async Task Run_PluginAlgorithmsThatThrowOrGiveNaN_FailAloneAndTheOthersAreWritten()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run(
            "run", "--model", "micro", "-a", "activation-magnitude", "-a", "test-throws", "-a", "test-nan",
            "-a", "test-constant:value=inf", "-a", "test-constant", "-a", "test-bundled", "--plugins", _plugins.Good, "--out", outDir);

        Assert.True(code == 4, err);
        Assert.Contains($"error: algorithm 'test-throws' failed: InvalidOperationException: {TestPlugins.ThrowingMessage}", err, StringComparison.Ordinal);
        Assert.Contains("error: algorithm 'test-nan' failed: produced NaN or infinite scores", err, StringComparison.Ordinal);
        Assert.Contains("error: algorithm 'test-constant' failed: produced NaN or infinite scores", err, StringComparison.Ordinal);
        Assert.Equal(
            [
                "activation-magnitude.json", "activation-magnitude.safetensors", "test-bundled.json", "test-bundled.safetensors",
                "test-constant-2.json", "test-constant-2.safetensors",
            ],
            Directory.GetFiles(Path.Combine(outDir, "scores")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal(
            ["ok", "failed", "failed", "failed", "ok", "ok"],
            run.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetProperty("status").GetString()));
        Assert.Equal("inf", run.RootElement.GetProperty("algorithms")[3].GetProperty("options").GetProperty("value").GetString());
        using var bundled = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "test-bundled.json")));
        Assert.Equal("[3,3,3,3,3]", bundled.RootElement.GetProperty("scores").GetProperty("output").GetRawText());
    }

    [Fact]
    public async Task Run_AlgorithmOfPluginThatFailedToLoad_ReturnsPluginErrorAndWritesNothing()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run("run", "--model", "micro", "-a", "test-missing-dependency", "--plugins", _plugins.Broken, "--out", outDir);

        Assert.Equal(2, code);
        Assert.Contains("error: Algorithm 'test-missing-dependency' is not available, and it may be in a plugin that could not be loaded: plugin ", err, StringComparison.Ordinal);
        Assert.Contains("plugin MissingDependencyPlugin (", err.Split("error: ")[^1], StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Run_PluginAlgorithmThatCannotBeCreated_ReturnsPluginError()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run("run", "--model", "micro", "-a", "test-late-missing", "--plugins", _plugins.Good, "--out", outDir);

        Assert.Equal(2, code);
        Assert.Contains("could not be created: a dependency is missing", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Run_BuiltInWhileSomePluginsAreBroken_WarnsAndSucceeds()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await Run("run", "--model", "micro", "--plugins", _plugins.Broken, "--out", outDir);

        Assert.True(code == 0, err);
        Assert.Contains("warning: plugin ThrowsWhileLoadingPlugin (", err, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(outDir, "scores", "activation-magnitude.json")));
    }
}
