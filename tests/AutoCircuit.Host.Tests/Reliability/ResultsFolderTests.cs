using System.Diagnostics;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Tests.Plugins;
using Xunit;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>
/// The results folder under faults: claimed atomically at the start (a second run into it is refused before it
/// computes), durable per algorithm (a later fault costs only the algorithm that was running), and dead runs'
/// leftovers cleaned up by the next run.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class ResultsFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-results-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Claim_SecondOnTheSameFolder_RefusedWhileTheFirstHoldsIt()
    {
        var outDir = Path.Combine(_dir, "out");
        using var first = new ResultsDirectory(outDir);

        var e = Assert.Throws<AutoCircuitException>(() => new ResultsDirectory(outDir));

        Assert.Contains($"another run (pid {Environment.ProcessId}) is writing into this folder", e.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(first.TempPath)); // the first is untouched
    }

    [Fact]
    public void Claim_ManyAtOnce_ExactlyOneWins()
    {
        var outDir = Path.Combine(_dir, "out");
        var results = new ResultsDirectory?[8];

        Parallel.For(0, results.Length, i =>
        {
            try
            {
                results[i] = new ResultsDirectory(outDir);
            }
            catch (AutoCircuitException)
            {
                results[i] = null;
            }
        });

        Assert.Single(results, r => r is not null);
        foreach (var r in results)
        {
            r?.Dispose();
        }

        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public async Task Run_IntoAFolderAnotherRunHolds_RefusedAtTheStart()
    {
        var outDir = Path.Combine(_dir, "out");
        using var holder = new ResultsDirectory(outDir); // a live run (this process) holds it
        var clock = Stopwatch.StartNew();

        var result = await RefusalContract.Run("run", "--model", "micro", "-a", "activation-magnitude", "--out", outDir);

        RefusalContract.AssertRefused(result, 1, $"--out {outDir}: another run (pid {Environment.ProcessId})");
        Assert.DoesNotContain("done", result.Err, StringComparison.Ordinal); // no algorithm ran
        Assert.True(Directory.Exists(holder.TempPath));
    }

    [Fact]
    public void DeadRun_WithoutResults_RemovedByTheNextRun()
    {
        var dead = DeadRun("dead", publishRunJson: false);
        var notes = new List<string>();

        using (new ResultsDirectory(Path.Combine(_dir, "next"), notes.Add))
        {
        }

        Assert.False(Directory.Exists(dead));
        Assert.Contains(notes, n => n.Contains($"removed {dead}, left unfinished by a run", StringComparison.Ordinal));
    }

    [Fact]
    public void DeadRun_WithResults_KeepsThemAndLosesItsLockAndStaging()
    {
        var dead = DeadRun("dead", publishRunJson: true);
        var notes = new List<string>();

        using (new ResultsDirectory(Path.Combine(_dir, "next"), notes.Add))
        {
        }

        Assert.Equal(["run.json"], Directory.GetFileSystemEntries(dead).Select(Path.GetFileName));
        Assert.Contains(notes, n => n.Contains("the results it had finished are kept", StringComparison.Ordinal));
    }

    [Fact]
    public void DeadRun_SameFolder_ItsLockIsTakenOver()
    {
        var dead = DeadRun("out", publishRunJson: false);

        using var results = new ResultsDirectory(dead);

        Assert.True(Directory.Exists(results.TempPath));
        Assert.Single(Directory.GetDirectories(dead)); // only the new staging folder
    }

    [Fact]
    public void LiveRun_InASibling_IsLeftAlone()
    {
        using var live = new ResultsDirectory(Path.Combine(_dir, "live"));

        using (new ResultsDirectory(Path.Combine(_dir, "next")))
        {
        }

        Assert.True(Directory.Exists(live.TempPath));
        Assert.True(File.Exists(Path.Combine(live.FinalPath, ResultsDirectory.LockFileName)));
    }

    [Fact]
    public void Run_CancelledDuringTheSecondAlgorithm_KeepsTheFirstsResults()
    {
        var outDir = Path.Combine(_dir, "out");
        using var cancel = new CancellationTokenSource();
        var progress = new CancelOn("Mask gradient", cancel);
        var request = new RunRequest
        {
            Job = new JobRequest { Model = "micro", Device = "cpu", Out = outDir },
            Algorithms = ["activation-magnitude", "mask-gradient", "random"],
        };
        using var error = new StringWriter();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            RunJob.Execute(request, new RunEnvironment(TextWriter.Null, error, progress, cancel.Token)));

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("incomplete", run.RootElement.GetProperty("status").GetString());
        Assert.Equal(["activation-magnitude"], run.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetProperty("key").GetString()));
        Assert.True(File.Exists(Path.Combine(outDir, "scores", "activation-magnitude.json")));
        Assert.False(File.Exists(Path.Combine(outDir, "scores", "mask-gradient.json")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outDir, ".*"));
        Assert.Contains("note: the results of the 1 algorithm that finished are kept", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PluginThrowsOutOfMemory_ExitsAlgorithmFailedAndKeepsTheOthers()
    {
        var outDir = Path.Combine(_dir, "out");

        var (code, _, err) = await RefusalContract.Run(
            "run", "--model", "micro", "-a", "activation-magnitude", "-a", "test-oom", "-a", "random", "--plugins", TestPlugins.Shared.Faulty,
            "--isolation", "none", "--out", outDir);

        Assert.True(code == 4, err);
        Assert.Contains("error: algorithm 'test-oom' failed: OutOfMemoryException: deliberate", err, StringComparison.Ordinal);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("complete", run.RootElement.GetProperty("status").GetString());
        Assert.Equal(["ok", "failed", "ok"], run.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetProperty("status").GetString()));
        Assert.True(File.Exists(Path.Combine(outDir, "scores", "random.safetensors")));
    }

    [Fact]
    public void RunOwner_ProvenDead_OnlyForAnotherBootAnExitedProcessOrAReusedPid()
    {
        var me = RunOwner.Current(createdFolder: false);

        Assert.False(me.IsProvenDead());
        Assert.True((me with { BootId = "another-boot" }).IsProvenDead() || me.BootId.Length == 0);
        Assert.True((me with { StartTicks = me.StartTicks + 1 }).IsProvenDead()); // the pid now belongs to another process
        Assert.True((me with { Pid = int.MaxValue }).IsProvenDead());
    }

    /// <summary>A results folder as a killed run leaves it: a lock of a process that no longer exists, a staging
    /// folder with a half-written file, and (optionally) a published run.json.</summary>
    private string DeadRun(string name, bool publishRunJson)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
        using (var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            p.WaitForExit();
            File.WriteAllText(Path.Combine(folder, ResultsDirectory.LockFileName), new RunOwner(p.Id, string.Empty, 1, CreatedFolder: true).ToJson());
        }

        var staging = Directory.CreateDirectory(Path.Combine(folder, ResultsDirectory.StagingPrefix + "0123")).FullName;
        File.WriteAllText(Path.Combine(staging, "half.json"), "{");
        if (publishRunJson)
        {
            File.WriteAllText(Path.Combine(folder, "run.json"), "{\"status\": \"incomplete\"}");
        }

        return folder;
    }

    /// <summary>Cancels when a task whose description starts with <paramref name="prefix"/> starts.</summary>
    private sealed class CancelOn(string prefix, CancellationTokenSource cancel) : IProgressSink
    {
        public IProgressTask Start(string description, long total)
        {
            if (description.StartsWith(prefix, StringComparison.Ordinal))
            {
                cancel.Cancel();
            }

            return NullProgressSink.Instance.Start(description, total);
        }
    }
}
