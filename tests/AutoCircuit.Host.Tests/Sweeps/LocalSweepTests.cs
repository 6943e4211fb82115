using System.Text.Json.Nodes;
using System.Xml;
using AutoCircuit.Host.Sweeps;
using AutoCircuit.Host.Tests.Outputs;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

/// <summary>
/// The local backend end to end, with real worker processes: a sweep computes every cell once, a rerun computes
/// nothing, a damaged cell and a killed cell are redone, Ctrl+C stops the workers cleanly, and compare --sweep
/// builds its report from the cache.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class LocalSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Sweep_Local_ComputesOnce_RedoesDamagedAndKilledCells_StopsOnCtrlC_Compares()
    {
        var plan = Path.Combine(_dir, "plan.yaml");
        File.WriteAllText(plan, SweepTestKit.MicroPlan);
        var cache = Path.Combine(_dir, "cache");
        var session = SweepSession.Open(plan, cache, RunEnvironment.Plain(TextWriter.Null, TextWriter.Null));

        // 1. the whole sweep
        var (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--cache", cache, "--workers", "2", "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal((8, 8, 0, 0), SweepTestKit.Summary(stdout));
        SweepTestKit.AssertAllCellsComplete(plan, cache);
        var scores = SweepTestKit.Scores(cache);
        Assert.Equal(8, scores.Count);
        foreach (var c in Directory.EnumerateDirectories(Path.Combine(cache, "cells")))
        {
            SchemaFiles.AssertValid("sweep-cell", File.ReadAllText(Path.Combine(c, "cell.json")), "cell.json");
            SchemaFiles.AssertValid("sweep-manifest", File.ReadAllText(Path.Combine(c, "manifest.json")), "manifest.json");
        }

        // 2. a rerun computes nothing
        (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--cache", cache, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal((8, 0, 8, 0), SweepTestKit.Summary(stdout));

        // 3. a damaged cell (a truncated scores file) is detected and redone, with the same bytes
        var damaged = session.Cache.CellPath(session.Keys[3]);
        var file = Directory.EnumerateFiles(Path.Combine(damaged, "scores"), "*.safetensors").Single();
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..10]);
        (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--cache", cache, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal((8, 1, 7, 0), SweepTestKit.Summary(stdout));
        Assert.Contains("cell 3: cached folder", stderr, StringComparison.Ordinal);
        Assert.Equal(scores, SweepTestKit.Scores(cache));

        // 4. a worker killed mid-cell leaves a stale claim and a work folder; the next sweep redoes the cell and cleans up
        var killedKey = session.Keys[5];
        session.Cache.Discard(killedKey);
        using (var worker = SweepTestKit.StartTool(Path.Combine(_dir, "killed.log"), "sweep", plan, "--cell", "5", "--cache", cache))
        {
            var owner = Path.Combine(cache, "claims", killedKey, "owner.json");
            SweepTestKit.WaitUntil(() => File.Exists(owner) || worker.HasExited, TimeSpan.FromSeconds(60), "the worker's claim");
            Assert.False(worker.HasExited, "the worker finished before it could be killed: " + File.ReadAllText(Path.Combine(_dir, "killed.log")));
            SweepTestKit.WaitUntil(() => Directory.EnumerateDirectories(Path.Combine(cache, "tmp"), killedKey + ".*").Any(), TimeSpan.FromSeconds(30), "the work folder");
            worker.Kill();
            worker.WaitForExit();
        }

        Assert.False(session.Cache.ClaimState(killedKey)!.Value.Alive);
        Assert.NotEmpty(Directory.EnumerateDirectories(Path.Combine(cache, "tmp")));
        (code, stdout, _) = await SweepTestKit.Cli("sweep", "status", plan, "--cache", cache, "--json");
        Assert.Equal(0, code);
        SchemaFiles.AssertValid("sweep-status", stdout, "sweep status --json");
        Assert.Equal("stale", (string?)JsonNode.Parse(stdout)!["cell_states"]![5]!["state"]);
        (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--cache", cache, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal((8, 1, 7, 0), SweepTestKit.Summary(stdout));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "claims")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(cache, "tmp")));
        Assert.Equal(scores, SweepTestKit.Scores(cache));

        // 5. Ctrl+C (SIGINT to the sweep alone) while slower cells (the embedded toy model) compute: the workers stop,
        // release their claims and delete their work folders, and no cell is committed.
        var slow = Path.Combine(_dir, "slow.yaml");
        File.WriteAllText(slow, "models: [toy-induction]\ntasks: [induction]\nalgorithms: [activation-magnitude]\nseeds: [1, 2]\n");
        var slowCache = Path.Combine(_dir, "slow-cache");
        using (var sweep = SweepTestKit.StartTool(Path.Combine(_dir, "cancelled.log"), "sweep", slow, "--cache", slowCache, "--workers", "2"))
        {
            SweepTestKit.WaitUntil(
                () => (Directory.Exists(Path.Combine(slowCache, "tmp")) && Directory.EnumerateDirectories(Path.Combine(slowCache, "tmp")).Any()) ||
                      sweep.HasExited,
                TimeSpan.FromSeconds(60), "a worker");
            Thread.Sleep(500);
            LocalBackend.Signal(sweep, "INT");
            Assert.True(sweep.WaitForExit(TimeSpan.FromSeconds(60)), "the sweep did not stop after SIGINT");
            Assert.True(sweep.ExitCode == 130, File.ReadAllText(Path.Combine(_dir, "cancelled.log")));
        }

        SweepTestKit.WaitUntil(
            () => !Directory.EnumerateFileSystemEntries(Path.Combine(slowCache, "claims")).Any() &&
                  !Directory.EnumerateFileSystemEntries(Path.Combine(slowCache, "tmp")).Any(),
            TimeSpan.FromSeconds(30), "the workers to release their claims and work folders");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(slowCache, "cells")));
        Assert.All(
            Directory.EnumerateFiles(Path.Combine(slowCache, "sweeps"), "cell-*.log", SearchOption.AllDirectories),
            log => Assert.Contains("cancelled", File.ReadAllText(log), StringComparison.Ordinal));

        // 6. compare --sweep: JSON (schema), CSV (one row per algorithm x condition), well-formed HTML
        var report = Path.Combine(_dir, "compare");
        (code, stdout, stderr) = await SweepTestKit.Cli("compare", "--sweep", cache, "--out", report);
        Assert.True(code == 0, stderr);
        Assert.Contains("Kendall", stdout, StringComparison.Ordinal);
        var json = File.ReadAllText(Path.Combine(report, "sweep-compare.json"));
        SchemaFiles.AssertValid("sweep-compare", json, "sweep-compare.json");
        var group = JsonNode.Parse(json)!["groups"]!.AsArray().Single()!;
        Assert.Equal(2, group["conditions"]!.AsArray().Count);
        Assert.All(group["algorithms"]!.AsArray(), a => Assert.All(a!["conditions"]!.AsArray(), c => Assert.Equal(2, c!["seeds"]!.AsArray().Count)));
        var csv = File.ReadAllLines(Path.Combine(report, "sweep-compare.csv"));
        Assert.Equal(1 + 4, csv.Length);
        var html = File.ReadAllText(Path.Combine(report, "report.html"));
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        var elements = 0;
        while (reader.Read())
        {
            elements += reader.NodeType == XmlNodeType.Element ? 1 : 0;
        }

        Assert.True(elements > 50, $"report.html has only {elements} elements");
        Assert.Contains("Ablation robustness", html, StringComparison.Ordinal);
    }
}
