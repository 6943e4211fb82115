using System.Diagnostics;
using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Runtime;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Jobs;
using AutoCircuit.Host.Sweeps.Outputs;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.Sweeps;

/// <summary>What became of one cell.</summary>
internal enum CellOutcome
{
    /// <summary>Computed and committed by this process.</summary>
    Computed,

    /// <summary>Complete in the cache already (or committed by another worker meanwhile).</summary>
    Cached,

    /// <summary>The run failed (an algorithm failed); nothing was committed.</summary>
    Failed,
}

/// <summary>
/// <c>sweep PLAN --cell I</c>: the one place a cell is computed, whichever backend started it. Checks the cache,
/// claims the cell (waiting while a live worker holds it), runs it as a normal <c>run</c> into a private work folder,
/// adds <c>cell.json</c> and then <c>manifest.json</c>, and commits the folder with one rename.
/// </summary>
internal static class CellRunner
{
    /// <summary>How long to wait between looks at a cell another live worker holds.</summary>
    public static TimeSpan BusyPoll { get; set; } = TimeSpan.FromSeconds(2);

    public static CellOutcome Run(SweepSession session, int index, RunEnvironment env, PerformanceSettings performance)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(env);
        var cell = session.Cell(index);
        var key = session.Keys[index];
        var cache = session.Cache;
        cache.EnsureLayout();
        cache.CollectLeftovers();
        while (true)
        {
            env.CancellationToken.ThrowIfCancellationRequested();
            var (complete, problem) = cache.Verify(key);
            if (complete)
            {
                env.Error.WriteLine($"{cell.Describe()}: cached ({cache.CellPath(key)})");
                return CellOutcome.Cached;
            }

            if (problem is not null)
            {
                env.Error.WriteLine($"{cell.Describe()}: the cached folder is damaged ({problem}); redoing it.");
                cache.Discard(key);
            }

            var (claim, holder) = cache.TryClaim(key);
            if (claim is null)
            {
                env.Error.WriteLine($"{cell.Describe()}: being computed by {holder}; waiting.");
                Task.Delay(BusyPoll, env.CancellationToken).GetAwaiter().GetResult();
                continue;
            }

            using (claim)
            {
                if (cache.Verify(key).Complete)
                {
                    continue; // committed by another worker between the check and the claim
                }

                return Compute(session, cell, key, claim.Owner, env, performance);
            }
        }
    }

    private static CellOutcome Compute(
        SweepSession session, SweepCell cell, string key, ClaimOwner owner, RunEnvironment env, PerformanceSettings performance)
    {
        var cache = session.Cache;
        var work = cache.NewWorkDir(key, owner);
        try
        {
            var outDir = Path.Combine(work, "cell");
            var request = cell.ToRunRequest(session.Plan.Protocol, outDir, performance);
            env.Error.WriteLine($"{cell.Describe()}: computing (key {key})");
            var clock = Stopwatch.StartNew();
            var code = RunJob.Execute(request, env with { Out = TextWriter.Null }, session.Catalog);
            clock.Stop();
            if (code != ExitCode.Ok)
            {
                env.Error.WriteLine($"{cell.Describe()}: failed ({code}); nothing cached.");
                return CellOutcome.Failed;
            }

            var file = new SweepCellFile
            {
                Key = key,
                Identity = session.Identities[cell.Index],
                Axes = Axes(cell, session.Catalog),
                Host = Environment.MachineName,
                Job = ProcessIdentity.SchedulerJob(),
                Seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
                FinishedUtc = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            };
            SweepSession.Write(Path.Combine(outDir, "cell.json"), file, SweepJsonContext.Default.SweepCellFile);
            SweepCache.WriteManifest(outDir, key);
            var committed = cache.Commit(key, outDir);
            env.Error.WriteLine($"{cell.Describe()}: {(committed ? "done" : "done by another worker first")} in {clock.Elapsed.TotalSeconds:0.0} s");
            return committed ? CellOutcome.Computed : CellOutcome.Cached;
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>The axes of <paramref name="cell"/> as cell.json records them.</summary>
    public static SweepCellAxes Axes(SweepCell cell, Algorithms.AlgorithmCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(catalog);
        return new SweepCellAxes
        {
            Model = cell.Model ?? "default",
            Task = cell.Data.Task,
            Dataset = cell.Data.Dataset,
            Algorithm = cell.Algorithm,
            AlgorithmKey = catalog.Create(Algorithms.AlgorithmSpec.Parse(cell.Algorithm)).Entry.Descriptor.Key,
            Ablation = cell.Ablation.ToCliName(),
            PatchType = EvaluationNames.PatchTypeName(cell.PatchType),
            Seed = cell.Seed,
        };
    }
}
