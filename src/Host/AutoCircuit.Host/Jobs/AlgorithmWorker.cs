using AutoCircuit.Engine;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.IO;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// The worker side of process isolation (<c>dotnet autocircuit __worker JOB</c>): prepares the job the host prepared,
/// runs one algorithm through <see cref="AlgorithmRunner"/> and writes its scores and outcome. Whatever the plugin does
/// to this process (<c>Environment.Exit</c>, a stack overflow, a native crash), the host survives and reports it.
/// </summary>
internal static class AlgorithmWorker
{
    /// <summary>Runs <paramref name="jobPath"/>; <see cref="ExitCode.Ok"/> when scores were written, else
    /// <see cref="ExitCode.AlgorithmFailed"/> (the outcome says why).</summary>
    public static ExitCode Run(string jobPath, RunEnvironment env)
    {
        var job = WorkerJob.Read(jobPath);
        var catalog = JobSetup.Catalog(job.Job, env with { Error = TextWriter.Null }); // the host has warned already
        var (entry, configured) = catalog.Create(AlgorithmSpec.Parse(job.Spec));
        using var context = JobSetup.Prepare(job.Job with { Out = null }, env);
        var key = entry.Descriptor.Key;
        var pruneContext = new PruneContext
        {
            Model = context.Model,
            TrainBatches = context.Data.Train,
            KnownEdges = context.Prepared.KnownEdges(context.Graph, out _),
            Seed = job.Job.Seed,
            Progress = env.Progress,
            CancellationToken = env.CancellationToken,
            Log = line => env.Error.WriteLine($"[{key}] {line}"),
        };
        using var outcome = AlgorithmRunner.Run(configured.Algorithm, pruneContext);
        if (outcome.Scores is { } scores)
        {
            var tmp = job.ScoresPath + ".tmp";
            ScoresFile.WriteSafetensors(tmp, key, scores);
            File.Move(tmp, job.ScoresPath, overwrite: true);
        }

        new WorkerOutcome(outcome.Error, outcome.Elapsed.TotalSeconds).Write(job.OutcomePath);
        return outcome.Scores is null ? ExitCode.AlgorithmFailed : ExitCode.Ok;
    }
}
