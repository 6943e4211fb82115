using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Host.Sweeps;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

/// <summary>The small sweep the end-to-end tests run and helpers to drive the tool.</summary>
internal static class SweepTestKit
{
    /// <summary>2 algorithms × 2 ablations × 2 seeds = 8 cells on the micro model, small data.</summary>
    public const string MicroPlan = """
        models: [micro]
        tasks: [micro]
        algorithms: [activation-magnitude, mask-gradient]
        ablations: [resample, zero]
        patch_types: [edge]
        seeds: [1, 2]
        protocol: {batch_size: 4, train_size: 8, test_size: 8}
        resources:
          local: {threads: 1}
          slurm: {cpus_per_task: 1, mem: 1G, retries: 2}
        """;

    public static async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await AutoCircuit.Tool.Cli.CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>The --json summary: the last stdout line.</summary>
    public static (int Cells, int Computed, int Cached, int Failed) Summary(string stdout)
    {
        var last = stdout.TrimEnd().Split('\n')[^1];
        Assert.Matches("""^\{"cells": \d+, "computed": \d+, "cached": \d+, "failed": \d+\}$""", last);
        var o = JsonNode.Parse(last)!;
        return ((int)o["cells"]!, (int)o["computed"]!, (int)o["cached"]!, (int)o["failed"]!);
    }

    /// <summary>The tool as a child process (<c>dotnet dotnet-autocircuit.dll ...</c>), output to <paramref name="log"/>.</summary>
    public static Process StartTool(string log, params string[] args)
    {
        var command = ToolCommand.Resolve(new SweepPlan
        {
            Path = "x",
            FileHash = "x",
            Models = [],
            Data = [],
            Algorithms = [],
            Ablations = [],
            PatchTypes = [],
            Seeds = [],
        });
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {string.Join(' ', command.Concat(args).Select(ToolCommand.Quote))} >{ToolCommand.Quote(log)} 2>&1 </dev/null");
        start.Environment["AUTOCIRCUIT_THREADS"] = "1";
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("VSTEST", StringComparison.Ordinal) || k.StartsWith("MSBUILD", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        return Process.Start(start)!;
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling every 20 ms).</summary>
    public static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out after {timeout.TotalSeconds} s waiting for {what}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Every cell's key and scores bytes, by key.</summary>
    public static SortedDictionary<string, byte[]> Scores(string cacheRoot)
    {
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var cell in Directory.EnumerateDirectories(Path.Combine(cacheRoot, "cells")))
        {
            var file = Directory.EnumerateFiles(Path.Combine(cell, "scores"), "*.safetensors").Single();
            result[Path.GetFileName(cell)] = File.ReadAllBytes(file);
        }

        return result;
    }

    /// <summary>Asserts that every cell of the plan in <paramref name="cache"/> is complete, ran its algorithm successfully and
    /// evaluated its circuits with the cell's ablation.</summary>
    public static void AssertAllCellsComplete(string plan, string cache)
    {
        var session = SweepSession.Open(plan, cache, RunEnvironment.Plain(TextWriter.Null, TextWriter.Null));
        for (var i = 0; i < session.Cells.Count; i++)
        {
            var key = session.Keys[i];
            var (complete, problem) = session.Cache.Verify(key);
            Assert.True(complete, $"cell {i} ({key}): {problem ?? "missing"}");
            var dir = session.Cache.CellPath(key);
            var run = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "run.json")))!;
            Assert.Equal("ok", (string?)run["algorithms"]![0]!["status"]);
            var cell = session.Cells[i];
            Assert.Equal(cell.Seed, (long)run["seed"]!);
            var circuits = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "circuits", SweepCell.AlgorithmKeyOf(cell.Algorithm) + ".json")))!;
            Assert.Equal(cell.Ablation.ToString(), Enum.Parse<AutoCircuit.Patching.AblationType>(((string?)circuits["ablation"])!.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true).ToString());
            Assert.True(circuits["auc"]!["logit-diff-percent"]!.GetValueKind() == JsonValueKind.Number, $"cell {i}: no AUC");
        }
    }
}
