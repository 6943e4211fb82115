using System.Diagnostics;
using System.Text.Json;
using AutoCircuit.Host.Sweeps;
using AutoCircuit.Host.Sweeps.Outputs;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

/// <summary>
/// The single-node Slurm of tools/slurm/local-cluster.sh. Its tests run only with AUTOCIRCUIT_SLURM_TESTS=1 (.ci/run's
/// Slurm step sets it; they take about a minute and install slurm-wlm + munge with apt-get when missing), and are skipped
/// with the script's one-line reason where it cannot start Slurm.
/// </summary>
internal static class LocalSlurm
{
    public const string OptIn = "AUTOCIRCUIT_SLURM_TESTS";

    private static readonly Lazy<(Dictionary<string, string>? Env, string? Reason)> Started = new(Start);

    public static string? SkipReason =>
        Environment.GetEnvironmentVariable(OptIn) != "1"
            ? $"Slurm integration test: set {OptIn}=1 to run it (.ci/run does, in its own step)"
            : Started.Value.Reason is { } r ? $"Slurm cannot be started here: {r}" : null;

    /// <summary>The environment <c>local-cluster.sh start</c> printed (SLURM_CONF, ...).</summary>
    public static IReadOnlyDictionary<string, string> Environment_ => Started.Value.Env!;

    public static string Script => Path.Combine(RepoTools.Root()!, "tools", "slurm", "local-cluster.sh");

    public static void Stop() => RepoTools.Run(Script, TimeSpan.FromMinutes(1), "stop");

    private static (Dictionary<string, string>?, string?) Start()
    {
        if (RepoTools.Root() is null)
        {
            return (null, "tools/slurm is not beside the tests");
        }

        var (code, stdout, stderr) = RepoTools.Run(Script, TimeSpan.FromMinutes(5), "start");
        if (code != 0)
        {
            return (null, RepoTools.Reason(stderr));
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // export NAME='value'
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith("export ", StringComparison.Ordinal) && eq > 7)
            {
                env[line[7..eq]] = line[(eq + 1)..].Trim('\'');
            }
        }

        return (env, null);
    }
}

/// <summary>Runs only with AUTOCIRCUIT_SLURM_TESTS=1 and a startable Slurm (see <see cref="LocalSlurm"/>).</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (LocalSlurm.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

[Trait("Category", "Slurm")]
[Collection(nameof(SeededCollection))]
public sealed class SlurmSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-slurm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SlurmFact]
    public async Task Sweep_Slurm_MatchesLocalBitForBit_AndRetriesAKilledArrayTask()
    {
        foreach (var (name, value) in LocalSlurm.Environment_)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            var plan = Path.Combine(_dir, "plan.yaml");
            File.WriteAllText(plan, SweepTestKit.MicroPlan);
            var local = Path.Combine(_dir, "local");
            var slurm = Path.Combine(_dir, "slurm");

            // the same 2 x 2 x 2 sweep on both backends
            var clock = Stopwatch.StartNew();
            var (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--cache", local, "--json");
            var localSeconds = clock.Elapsed.TotalSeconds;
            Assert.True(code == 0, stderr);
            Assert.Equal((8, 8, 0, 0), SweepTestKit.Summary(stdout));
            clock.Restart();
            (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--backend", "slurm", "--cache", slurm, "--json");
            var slurmSeconds = clock.Elapsed.TotalSeconds;
            Assert.True(code == 0, stderr);
            Assert.Equal((8, 8, 0, 0), SweepTestKit.Summary(stdout));
            Console.WriteLine($"slurm test: 8 cells, local {localSeconds:0.0} s, slurm {slurmSeconds:0.0} s");
            SweepTestKit.AssertAllCellsComplete(plan, slurm);
            Assert.Equal(SweepTestKit.Scores(local), SweepTestKit.Scores(slurm));
            Assert.Contains("#SBATCH --mem=1G", File.ReadAllText(Directory.EnumerateFiles(Path.Combine(slurm, "sweeps"), "sweep.sbatch", SearchOption.AllDirectories).Single()), StringComparison.Ordinal);

            // a rerun submits nothing
            (code, stdout, stderr) = await SweepTestKit.Cli("sweep", plan, "--backend", "slurm", "--cache", slurm, "--json");
            Assert.True(code == 0, stderr);
            Assert.Equal((8, 0, 8, 0), SweepTestKit.Summary(stdout));

            // one array task killed mid-run (kill -9 of its cell process): FAILED in Slurm, resubmitted, completed
            var session = SweepSession.Open(plan, slurm, RunEnvironment.Plain(TextWriter.Null, TextWriter.Null));
            int[] redo = [4, 6];
            foreach (var i in redo)
            {
                session.Cache.Discard(session.Keys[i]);
            }

            var run = Task.Run(() => SweepTestKit.Cli("sweep", plan, "--backend", "slurm", "--cache", slurm, "--json"));
            var victim = Path.Combine(slurm, "claims", session.Keys[4], "owner.json");
            ClaimOwner? owner = null;
            SweepTestKit.WaitUntil(() => (owner = SweepCache.ReadOwner(victim)) is not null || run.IsCompleted, TimeSpan.FromSeconds(120), "cell 4's array task");
            Assert.False(run.IsCompleted, "the sweep finished before its task could be killed");
            Assert.Contains("slurm", owner!.Job, StringComparison.Ordinal);
            using (var p = Process.GetProcessById(owner.Pid))
            {
                p.Kill();
            }

            (code, stdout, stderr) = await run;
            Assert.True(code == 0, stderr);
            Assert.Equal((8, 2, 6, 0), SweepTestKit.Summary(stdout));
            Assert.Contains("retry 1 of 2", stderr, StringComparison.Ordinal);
            Assert.Matches(@"cell 4 FAILED", stderr);
            SweepTestKit.AssertAllCellsComplete(plan, slurm);
            Assert.Equal(SweepTestKit.Scores(local), SweepTestKit.Scores(slurm));
            var index = JsonSerializer.Deserialize(
                File.ReadAllBytes(Path.Combine(session.Dir, "index.json")), SweepJsonContext.Default.SweepIndexFile)!;
            var last = index.Submissions.TakeLast(2).ToList();
            Assert.Equal([4, 6], last[0].Cells);
            Assert.Equal([4], last[1].Cells);
            Assert.Equal(2, last[1].Attempt);

            // sweep status reads squeue and the cache
            (code, stdout, _) = await SweepTestKit.Cli("sweep", "status", plan, "--cache", slurm, "--json");
            Assert.Equal(0, code);
            var status = JsonSerializer.Deserialize(stdout, SweepJsonContext.Default.SweepStatusFile)!;
            Assert.Equal(("squeue", 8), (status.Scheduler, status.Done));
            Assert.Equal(("COMPLETED", $"{last[1].Job}_4"), (status.CellStates[4].SchedulerState, status.CellStates[4].Job));
        }
        finally
        {
            LocalSlurm.Stop();
        }
    }
}
