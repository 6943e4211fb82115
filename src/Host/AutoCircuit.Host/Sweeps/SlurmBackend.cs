using System.Diagnostics;
using System.Globalization;
using System.Text;
using AutoCircuit.Engine;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>One array task as Slurm reports it.</summary>
/// <param name="Job">The array job id.</param>
/// <param name="Index">The array index (the cell).</param>
/// <param name="State">The long state name (PENDING, RUNNING, COMPLETED, FAILED, ...).</param>
/// <param name="Reason">The reason or exit code Slurm gives, or empty.</param>
internal sealed record SlurmTask(string Job, int Index, string State, string Reason)
{
    /// <summary>States in which a task may still run.</summary>
    public bool Active => State is "PENDING" or "RUNNING" or "CONFIGURING" or "COMPLETING" or "REQUEUED" or "REQUEUE_HOLD"
        or "REQUEUE_FED" or "RESIZING" or "SUSPENDED" or "SIGNALING" or "STAGE_OUT" or "STOPPED";
}

/// <summary>
/// <c>--backend slurm</c>: writes <c>sweeps/&lt;id&gt;/slurm/sweep.sbatch</c> (resources from the plan's
/// <c>resources.slurm</c>; each array task runs <c>sweep PLAN --cell $SLURM_ARRAY_TASK_ID</c>), submits the missing cells
/// as one <c>sbatch --array</c>, waits for the array (<c>squeue</c>), and resubmits the cells still missing afterwards
/// (failed, cancelled, killed, timed out) up to <c>retries</c> times. Whether a cell is done is read from the cache,
/// never from Slurm: a task can be COMPLETED with its cell damaged, or FAILED after its cell was committed.
/// </summary>
internal static class SlurmBackend
{
    public static TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(2);

    public static SweepSummary Run(SweepSession session, RunEnvironment env, bool noWait)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(env);
        var cache = session.Cache;
        cache.EnsureLayout();
        cache.CollectLeftovers();
        session.WriteIndex(session.ReadIndex());
        var before = session.CompleteCells(env.Error);
        var missing = Enumerable.Range(0, session.Cells.Count).Where(i => !before[i]).ToList();
        var resources = session.Plan.Resources.Slurm;
        var script = WriteScript(session);
        env.Error.WriteLine($"sweep {session.Plan.Path}: {session.Cells.Count} cells, {before.Count(b => b)} cached, {missing.Count} to submit; " +
                            $"script {script}");
        var jobs = new List<string>();
        var clock = Stopwatch.StartNew();
        if (missing.Count > 0)
        {
            using var progress = env.Progress.Start("cells", missing.Count);
            var done = 0;
            for (var attempt = 1; missing.Count > 0 && attempt <= resources.Retries + 1; attempt++)
            {
                if (attempt > 1)
                {
                    env.Error.WriteLine($"sweep: {missing.Count} cell(s) still missing after job {jobs[^1]}: " +
                                        $"{Describe(session, jobs[^1], missing)}; retry {attempt - 1} of {resources.Retries}.");
                }

                var job = Submit(script, missing, resources.MaxParallel);
                jobs.Add(job);
                session.RecordSubmission("slurm", job, missing, attempt);
                env.Error.WriteLine($"sweep: submitted array job {job} (cells {ArrayList(missing)}), attempt {attempt}");
                if (noWait)
                {
                    return new SweepSummary
                    {
                        Cells = session.Cells.Count,
                        Computed = 0,
                        Cached = before.Count(b => b),
                        Failed = 0,
                        Jobs = jobs,
                        Submitted = missing.Count,
                    };
                }

                try
                {
                    WaitFor(job, session, missing, env, progress, ref done);
                }
                catch (OperationCanceledException)
                {
                    env.Error.WriteLine($"sweep: cancelled; scancel {job}");
                    RunTool("scancel", [job], allowFailure: true);
                    throw;
                }

                var now = session.CompleteCells(env.Error);
                missing = missing.Where(i => !now[i]).ToList();
            }
        }

        var after = session.CompleteCells();
        var summary = new SweepSummary
        {
            Cells = session.Cells.Count,
            Computed = Enumerable.Range(0, after.Length).Count(i => after[i] && !before[i]),
            Cached = before.Count(b => b),
            Failed = after.Count(a => !a),
        };
        env.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"sweep: {summary.Computed} computed, {summary.Cached} cached, {summary.Failed} failed in {clock.Elapsed.TotalSeconds:0.0} s " +
            $"(array jobs {(jobs.Count == 0 ? "none" : string.Join(", ", jobs))})"));
        return summary;
    }

    /// <summary>Writes the batch script; the array indices are given at submission (<c>sbatch --array=LIST</c>).</summary>
    public static string WriteScript(SweepSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var r = session.Plan.Resources.Slurm;
        var dir = Path.Combine(session.Dir, "slurm");
        var logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(logs);
        var command = ToolCommand.Resolve(session.Plan);
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append(CultureInfo.InvariantCulture, $"# AutoCircuit sweep {session.Id}: {session.Cells.Count} cells of {session.Plan.Path}\n");
        sb.Append("# Submitted by 'dotnet autocircuit sweep PLAN --backend slurm' as: sbatch --array=<cells>[%max_parallel] this-script\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=autocircuit-{session.Id[..8]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={logs}/%A_%a.log\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={r.CpusPerTask}\n");
        Optional(sb, "--mem", r.Mem);
        Optional(sb, "--time", r.Time);
        Optional(sb, "--partition", r.Partition);
        Optional(sb, "--account", r.Account);
        Optional(sb, "--gres", r.Gres);
        sb.Append("#SBATCH --requeue\n");
        foreach (var o in r.Options)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH {o}\n");
        }

        sb.Append("set -eu\n");
        sb.Append(CultureInfo.InvariantCulture, $"export AUTOCIRCUIT_THREADS=\"${{SLURM_CPUS_PER_TASK:-{r.CpusPerTask}}}\"\n");
        foreach (var line in r.Setup)
        {
            sb.Append(line).Append('\n');
        }

        sb.Append("exec ").Append(string.Join(' ', command.Select(ToolCommand.Quote)))
            .Append(CultureInfo.InvariantCulture, $" sweep {ToolCommand.Quote(session.Plan.Path)} --cell \"$SLURM_ARRAY_TASK_ID\" --cache {ToolCommand.Quote(session.Cache.Root)}\n");
        var path = Path.Combine(dir, "sweep.sbatch");
        SweepCache.WriteAtomically(path, sb.ToString());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                                   UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        return path;
    }

    /// <summary><c>0-3,5,7-9</c>: Slurm's array list syntax.</summary>
    public static string ArrayList(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var sorted = indices.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            parts.Add(i == j
                ? sorted[i].ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    /// <summary>Every task of the array jobs <paramref name="jobs"/> that Slurm still knows: <c>squeue -r -t all</c>, else
    /// <c>sacct</c> (jobs aged out of the controller, with accounting). The source is named.</summary>
    public static (IReadOnlyList<SlurmTask> Tasks, string Source) Query(IReadOnlyCollection<string> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
        {
            return ([], "none");
        }

        var (code, output, _) = RunTool("squeue", ["-h", "-r", "-t", "all", "-j", string.Join(',', jobs), "-o", "%F|%K|%T|%r"], allowFailure: true);
        var tasks = new List<SlurmTask>();
        if (code == 0)
        {
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var f = line.Split('|');
                if (f.Length >= 4 && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    tasks.Add(new SlurmTask(f[0], index, f[2], f[3]));
                }
            }

            if (jobs.All(j => tasks.Any(t => t.Job == j)))
            {
                return (tasks, "squeue");
            }
        }

        var (acode, acct, _) = RunTool(
            "sacct", ["-X", "-n", "-j", string.Join(',', jobs), "--parsable2", "--format=JobID,State,ExitCode"], allowFailure: true);
        if (acode == 0 && acct.Trim().Length > 0)
        {
            var fromAcct = new List<SlurmTask>();
            foreach (var line in acct.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var f = line.Split('|');
                var id = f[0].Split('_');
                if (f.Length < 3 || id.Length != 2)
                {
                    continue;
                }

                var state = f[1].Split(' ')[0];
                foreach (var index in ExpandRange(id[1]))
                {
                    fromAcct.Add(new SlurmTask(id[0], index, state, "exit " + f[2]));
                }
            }

            return ([.. tasks, .. fromAcct.Where(a => !tasks.Any(t => t.Job == a.Job && t.Index == a.Index))], tasks.Count > 0 ? "squeue+sacct" : "sacct");
        }

        return (tasks, tasks.Count > 0 ? "squeue" : "none");
    }

    /// <summary>sacct's <c>5</c>, <c>[2-7%4]</c>, <c>[1,3-4]</c>.</summary>
    private static IEnumerable<int> ExpandRange(string text)
    {
        var t = text.Trim('[', ']');
        var percent = t.IndexOf('%', StringComparison.Ordinal);
        if (percent >= 0)
        {
            t = t[..percent];
        }

        foreach (var part in t.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.Split('-');
            if (dash.Length == 2 && int.TryParse(dash[0], CultureInfo.InvariantCulture, out var a) && int.TryParse(dash[1], CultureInfo.InvariantCulture, out var b))
            {
                for (var i = a; i <= b; i++)
                {
                    yield return i;
                }
            }
            else if (int.TryParse(part, CultureInfo.InvariantCulture, out var single))
            {
                yield return single;
            }
        }
    }

    private static void WaitFor(string job, SweepSession session, IReadOnlyList<int> cells, RunEnvironment env, IProgressTask progress, ref int done)
    {
        var lastStates = string.Empty;
        var unknownSince = (Stopwatch?)null;
        while (true)
        {
            var complete = cells.Count(i => Directory.Exists(session.Cache.CellPath(session.Keys[i])));
            if (complete > done)
            {
                progress.Advance(complete - done);
                done = complete;
            }

            var (tasks, _) = Query([job]);
            var states = string.Join(", ", tasks.GroupBy(t => t.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));
            if (states != lastStates && states.Length > 0)
            {
                env.Error.WriteLine($"sweep: job {job}: {states}");
                lastStates = states;
            }

            if (tasks.Count > 0 && !tasks.Any(t => t.Active))
            {
                return;
            }

            if (tasks.Count == 0)
            {
                // Not (or no longer) known to squeue and sacct: give the controller a moment after submission.
                unknownSince ??= Stopwatch.StartNew();
                if (unknownSince.Elapsed > TimeSpan.FromSeconds(30))
                {
                    return;
                }
            }

            Task.Delay(Poll, env.CancellationToken).GetAwaiter().GetResult();
        }
    }

    private static string Describe(SweepSession session, string job, IReadOnlyList<int> missing)
    {
        var (tasks, _) = Query([job]);
        return string.Join("; ", missing.Take(8).Select(i =>
        {
            var t = tasks.FirstOrDefault(x => x.Index == i);
            return $"cell {i} {(t is null ? "unknown to Slurm" : $"{t.State} ({t.Reason})")}";
        })) + (missing.Count > 8 ? "; ..." : string.Empty);
    }

    private static string Submit(string script, IReadOnlyList<int> cells, int? maxParallel)
    {
        var array = ArrayList(cells) + (maxParallel is int m ? string.Create(CultureInfo.InvariantCulture, $"%{m}") : string.Empty);
        var (_, output, _) = RunTool("sbatch", ["--parsable", "--array=" + array, script], allowFailure: false);
        var id = output.Trim().Split(';')[0];
        if (id.Length == 0 || !id.All(char.IsAsciiDigit))
        {
            throw new AutoCircuitException($"sbatch --array={array} {script}: unexpected output '{output.Trim()}' (expected a job id).");
        }

        return id;
    }

    private static void Optional(StringBuilder sb, string option, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH {option}={value}\n");
        }
    }

    /// <summary>Runs a Slurm command; a missing command or (unless allowed) a failure is an error naming it.</summary>
    internal static (int Code, string Output, string Error) RunTool(string tool, IReadOnlyList<string> args, bool allowFailure)
    {
        var start = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            if (allowFailure)
            {
                return (127, string.Empty, e.Message);
            }

            throw new AutoCircuitException($"{tool}: cannot run it ({e.Message}); is Slurm installed and SLURM_CONF set?");
        }

        using (process)
        {
            var stdout = process!.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                throw new AutoCircuitException($"{tool} {string.Join(' ', args)}: no answer in 60 s.");
            }

            process.WaitForExit();
            var (o, e) = (stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
            if (process.ExitCode != 0 && !allowFailure)
            {
                throw new AutoCircuitException($"{tool} {string.Join(' ', args)} failed (exit {process.ExitCode}): {e.Trim()}");
            }

            return (process.ExitCode, o, e);
        }
    }
}
