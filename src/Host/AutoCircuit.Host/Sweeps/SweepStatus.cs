using System.Text;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// <c>sweep status PLAN</c>: each cell's state from the cache (done, corrupt, claimed by a live or a dead worker,
/// missing) and, for cells submitted to Slurm, the latest array task's state from <c>squeue</c> (else <c>sacct</c>).
/// Reads only: damaged cells are reported, not removed.
/// </summary>
internal static class SweepStatus
{
    public static SweepStatusFile Collect(SweepSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var index = session.ReadIndex();
        var slurmJobs = index.Submissions.Where(s => s.Backend == "slurm").Select(s => s.Job).Distinct().ToList();
        var (tasks, source) = slurmJobs.Count > 0 ? SlurmBackend.Query(slurmJobs) : ([], "none");
        var cells = new List<SweepStatusCell>();
        for (var i = 0; i < session.Cells.Count; i++)
        {
            var key = session.Keys[i];
            var (complete, problem) = session.Cache.Verify(key);
            string state;
            string? detail = null;
            if (complete)
            {
                state = "done";
            }
            else if (problem is not null)
            {
                (state, detail) = ("corrupt", problem);
            }
            else if (session.Cache.ClaimState(key) is { } claim)
            {
                state = claim.Alive ? "running" : "stale";
                detail = claim.Owner is null ? "unreadable claim" : SweepCache.Describe(claim.Owner);
            }
            else
            {
                state = "missing";
            }

            var submissions = index.Submissions.Where(s => s.Cells.Contains(i)).ToList();
            var task = submissions.Count == 0
                ? null
                : tasks.Where(t => t.Index == i && submissions.Any(s => s.Job == t.Job)).MaxBy(t => long.TryParse(t.Job, out var j) ? j : 0);
            cells.Add(new SweepStatusCell
            {
                Index = i,
                Key = key,
                Description = session.Cells[i].Describe(),
                State = state,
                Detail = detail,
                Job = task is null ? null : $"{task.Job}_{task.Index}",
                SchedulerState = task?.State,
                Attempts = submissions.Count,
            });
        }

        return new SweepStatusFile
        {
            Plan = session.Plan.Path,
            Cache = session.Cache.Root,
            Cells = cells.Count,
            Done = cells.Count(c => c.State == "done"),
            Running = cells.Count(c => c.State == "running"),
            Missing = cells.Count(c => c.State is "missing" or "stale"),
            Corrupt = cells.Count(c => c.State == "corrupt"),
            Scheduler = source,
            CellStates = cells,
        };
    }

    /// <summary>A table for people.</summary>
    public static string Format(SweepStatusFile status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var sb = new StringBuilder();
        sb.Append($"{status.Plan}: {status.Cells} cells: {status.Done} done, {status.Running} running, {status.Missing} missing, " +
                  $"{status.Corrupt} corrupt (cache {status.Cache}; scheduler: {status.Scheduler})\n");
        sb.Append("| cell | state | slurm | attempts | cell | detail |\n|---:|---|---|---:|---|---|\n");
        foreach (var c in status.CellStates)
        {
            sb.Append($"| {c.Index} | {c.State} | {(c.Job is null ? string.Empty : $"{c.Job} {c.SchedulerState}")} | {c.Attempts} | " +
                      $"{c.Description[(c.Description.IndexOf(':', StringComparison.Ordinal) + 2)..]} | {c.Detail} |\n");
        }

        return sb.ToString();
    }
}
