using System.Diagnostics;
using System.Globalization;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// <c>--backend local</c>: N worker processes, each the tool running <c>sweep PLAN --cell I</c> (its output in
/// <c>sweeps/&lt;id&gt;/logs/cell-I.log</c>), a progress bar over cells. Cancellation (Ctrl+C) stops launching, passes
/// SIGINT on to the running workers (which delete their work folders and claims) and waits for them; a worker that
/// does not stop in <see cref="StopGrace"/> is killed, and its leftovers are collected by the next sweep.
/// </summary>
internal static class LocalBackend
{
    public static TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Default workers: cores ÷ threads per cell, at least one.</summary>
    public static int DefaultWorkers(int threadsPerCell) => Math.Max(1, Environment.ProcessorCount / Math.Max(1, threadsPerCell));

    public static SweepSummary Run(SweepSession session, int? workers, RunEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(env);
        var cache = session.Cache;
        cache.EnsureLayout();
        cache.CollectLeftovers();
        session.WriteIndex(session.ReadIndex());
        var before = session.CompleteCells(env.Error);
        var pending = new Queue<int>(Enumerable.Range(0, session.Cells.Count).Where(i => !before[i]));
        var threads = session.Plan.Resources.Local.Threads;
        var n = Math.Max(1, workers ?? session.Plan.Resources.Local.Workers ?? DefaultWorkers(threads));
        var command = ToolCommand.Resolve(session.Plan);
        var logs = Path.Combine(session.Dir, "logs");
        Directory.CreateDirectory(logs);
        env.Error.WriteLine(
            $"sweep {session.Plan.Path}: {session.Cells.Count} cells, {before.Count(b => b)} cached, {pending.Count} to compute with " +
            $"{Math.Min(n, Math.Max(1, pending.Count))} worker(s) × {threads} thread(s); cache {cache.Root}");

        var clock = Stopwatch.StartNew();
        var running = new List<(Process Process, int Cell, Stopwatch Clock)>();
        using (var progress = env.Progress.Start("cells", pending.Count))
        {
            using var stop = env.CancellationToken.Register(() =>
            {
                lock (running)
                {
                    foreach (var (p, _, _) in running)
                    {
                        Signal(p, "INT");
                    }
                }
            });
            while (pending.Count > 0 || running.Count > 0)
            {
                while (!env.CancellationToken.IsCancellationRequested && pending.Count > 0 && running.Count < n)
                {
                    var index = pending.Dequeue();
                    var process = Start(command, session, index, threads, Path.Combine(logs, $"cell-{index}.log"));
                    lock (running)
                    {
                        running.Add((process, index, Stopwatch.StartNew()));
                    }
                }

                if (env.CancellationToken.IsCancellationRequested && running.Count > 0)
                {
                    StopAll(running, env.Error);
                    break;
                }

                var finished = running.FirstOrDefault(r => r.Process.HasExited);
                if (finished.Process is null)
                {
                    Thread.Sleep(50);
                    continue;
                }

                lock (running)
                {
                    running.Remove(finished);
                }

                var code = finished.Process.ExitCode;
                finished.Process.Dispose();
                var ok = cache.Verify(session.Keys[finished.Cell]).Complete;
                env.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{session.Cells[finished.Cell].Describe()}: {(ok ? "done" : $"FAILED (exit {code}; log {Path.Combine(logs, $"cell-{finished.Cell}.log")})")} " +
                    $"in {finished.Clock.Elapsed.TotalSeconds:0.0} s"));
                progress.Advance();
            }
        }

        env.CancellationToken.ThrowIfCancellationRequested();
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
            $"sweep: {summary.Computed} computed, {summary.Cached} cached, {summary.Failed} failed in {clock.Elapsed.TotalSeconds:0.0} s"));
        return summary;
    }

    private static Process Start(IReadOnlyList<string> command, SweepSession session, int index, int threads, string log)
    {
        // sh only redirects: exec makes the worker the child itself, so signals reach it.
        var words = command.Concat(["sweep", session.Plan.Path, "--cell", index.ToString(CultureInfo.InvariantCulture), "--cache", session.Cache.Root]);
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {string.Join(' ', words.Select(ToolCommand.Quote))} >>{ToolCommand.Quote(log)} 2>&1 </dev/null");
        start.Environment["AUTOCIRCUIT_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) ||
                                                             k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("Could not start a sweep worker.");
    }

    private static void StopAll(List<(Process Process, int Cell, Stopwatch Clock)> running, TextWriter error)
    {
        error.WriteLine($"sweep: stopping {running.Count} worker(s)...");
        var deadline = Stopwatch.StartNew(); // the cancellation callback has sent them SIGINT
        foreach (var (p, cell, _) in running)
        {
            var left = StopGrace - deadline.Elapsed;
            if (!p.WaitForExit(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                error.WriteLine($"sweep: worker of cell {cell} (pid {p.Id}) did not stop; killing it.");
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }

            p.Dispose();
        }

        running.Clear();
    }

    /// <summary>Sends a signal with kill(1): .NET has no API to send SIGINT to another process.</summary>
    internal static void Signal(Process process, string signal)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
            });
            kill?.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }
}
