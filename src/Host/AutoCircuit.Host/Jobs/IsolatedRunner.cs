using System.Diagnostics;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Jobs;

/// <summary>
/// The host side of process isolation: runs one algorithm in a worker process (the tool re-invoked as
/// <c>__worker JOB</c>, <see cref="AlgorithmWorker"/>) and reads its scores back. A worker that ends without scores
/// (<c>Environment.Exit</c>, a stack overflow, a native crash, a kill) is a failed algorithm with the reason; the run goes
/// on. Cancellation kills the worker.
/// </summary>
internal static class IsolatedRunner
{
    /// <summary>The hidden command of the tool that runs a worker job.</summary>
    public const string WorkerCommandName = "__worker";

    /// <summary>At most this many lines of a worker's stderr are passed on (a stack overflow prints thousands).</summary>
    private const int ForwardedLines = 200;

    /// <summary>Runs <paramref name="spec"/> in a worker prepared from <paramref name="job"/>.</summary>
    /// <param name="job">The run's job request.</param>
    /// <param name="spec">The algorithm spec.</param>
    /// <param name="command">The program and leading arguments that start the tool.</param>
    /// <param name="folder">A fresh folder for the job's files (removed afterwards).</param>
    /// <param name="graph">The host's graph: the scores are checked against it.</param>
    /// <param name="env">Where the worker's stderr goes; cancellation.</param>
    /// <exception cref="OperationCanceledException">The run was cancelled (the worker is killed).</exception>
    public static AlgorithmOutcome Run(
        JobRequest job, string spec, IReadOnlyList<string> command, string folder, ModelGraph graph, RunEnvironment env)
    {
        Directory.CreateDirectory(folder);
        try
        {
            var jobPath = Path.Combine(folder, "job.json");
            var work = new WorkerJob(job with { Out = null, CommandLine = [] }, spec, Path.Combine(folder, "scores.safetensors"),
                Path.Combine(folder, "outcome.json"));
            work.Write(jobPath);
            var clock = Stopwatch.StartNew();
            var (exit, tail) = RunProcess(command, jobPath, env);
            var outcome = WorkerOutcome.TryRead(work.OutcomePath);
            var elapsed = outcome is null ? clock.Elapsed : TimeSpan.FromSeconds(outcome.Seconds);
            if (exit == 0 && outcome is { Error: null } && File.Exists(work.ScoresPath))
            {
                var (scores, error) = ReadScores(work.ScoresPath, graph);
                return new AlgorithmOutcome(scores, elapsed, error);
            }

            return new AlgorithmOutcome(null, elapsed, outcome?.Error ?? Describe(exit, tail));
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // inside the staging folder: removed with it
            }
        }
    }

    private static (int Exit, List<string> Tail) RunProcess(IReadOnlyList<string> command, string jobPath, RunEnvironment env)
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in command.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        start.ArgumentList.Add(WorkerCommandName);
        start.ArgumentList.Add(jobPath);
        var tail = new List<string>();
        var forwarded = 0;
        var gate = new Lock();
        using var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            lock (gate)
            {
                tail.Add(line);
                if (tail.Count > 20)
                {
                    tail.RemoveAt(0);
                }

                if (forwarded++ < ForwardedLines && !line.TrimStart().StartsWith("at ", StringComparison.Ordinal))
                {
                    env.Error.WriteLine(line);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            while (!process.WaitForExit(100))
            {
                env.CancellationToken.ThrowIfCancellationRequested();
            }

            process.WaitForExit(); // drains the readers
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw;
        }

        lock (gate)
        {
            return (process.ExitCode, tail.ToList());
        }
    }

    /// <summary>Why a worker ended without scores, from its exit status and the last lines it printed.</summary>
    private static string Describe(int exit, List<string> tail)
    {
        var hint = tail.FirstOrDefault(l => l.StartsWith("Stack overflow", StringComparison.Ordinal))
                   ?? tail.LastOrDefault(l => l.StartsWith("error: ", StringComparison.Ordinal))
                   ?? tail.LastOrDefault(l => l.Length > 0 && !l.TrimStart().StartsWith("at ", StringComparison.Ordinal) && !l.StartsWith('['));
        var status = exit switch
        {
            0 => "its worker process exited with code 0 without writing scores (the plugin ended the process, e.g. Environment.Exit)",
            > 128 and < 160 => $"its worker process was killed by signal {exit - 128}{SignalName(exit - 128)} (exit code {exit})",
            _ => $"its worker process exited with code {exit} without writing scores",
        };
        return hint is null ? status : $"{status}: {hint.Trim()}";
    }

    private static string SignalName(int signal) => signal switch
    {
        6 => " (SIGABRT: an abort, e.g. a stack overflow)",
        9 => " (SIGKILL: e.g. out of memory)",
        11 => " (SIGSEGV: a native crash)",
        15 => " (SIGTERM)",
        _ => string.Empty,
    };

    private static (PruneScores? Scores, string? Error) ReadScores(string path, ModelGraph graph)
    {
        List<KeyValuePair<string, TorchSharp.torch.Tensor>> tensors;
        try
        {
            tensors = Safetensors.Read(path).Tensors;
        }
        catch (InvalidDataException e)
        {
            return (null, $"its worker wrote unreadable scores: {e.Message}");
        }

        try
        {
            return (PruneScores.FromTensors(graph, tensors.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal)), null);
        }
        catch (ArgumentException e)
        {
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }

            return (null, $"its worker's scores do not fit the graph: {e.Message}");
        }
    }
}
