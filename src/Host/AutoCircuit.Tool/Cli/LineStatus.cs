using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Host.Progress;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// Progress as plain lines, for logs (stderr redirected, <c>NO_COLOR</c>, <c>--no-progress</c>): one line when a stage
/// ends (<c>[3/6] acdc: scored in 15 min 25 s · 16 min elapsed · ETA ~2 min</c>) and, while one runs, the status with
/// counts and the time left (<c>[3/6] acdc · τ 7/20 · edge 812/2,113 · 4 min 12 s elapsed · ETA ~3 min</c>) every
/// 10 s in the first minute, then less often (a tenth of the time elapsed, at most every minute).
/// </summary>
internal sealed class LineStatus : StatusRenderer
{
    private readonly object _sync = new();
    private readonly TextWriter _error;
    private readonly JobProgress _progress;
    private TimeSpan _lastLine;

    public LineStatus(TextWriter error, JobProgress progress)
    {
        _error = error;
        _progress = progress;
        _progress.StageFinished += OnStageFinished;
    }

    /// <summary>How long to wait between status lines, <paramref name="elapsed"/> into a job.</summary>
    internal static TimeSpan Interval(TimeSpan elapsed) =>
        TimeSpan.FromSeconds(Math.Clamp(elapsed.TotalSeconds / 10, 10, 60));

    /// <summary>The line for a finished stage.</summary>
    internal static string Finished(FinishedStage stage)
    {
        var where = stage.Number > 0 ? $"[{stage.Number}/{stage.Count}] {stage.Label}" : stage.Label;
        var duration = ProgressText.Duration(stage.Duration);
        if (!stage.Completed)
        {
            return $"{where}: stopped after {duration}"; // failed or cancelled: the error says which
        }

        return stage.Kind switch
        {
            StageKind.Score => $"{where}: scored in {duration}",
            StageKind.Evaluate => $"{where}: circuits evaluated in {duration} " +
                                  $"({stage.Steps.ToString("N0", CultureInfo.InvariantCulture)} forward passes)",
            _ => $"{where}: done in {duration}",
        };
    }

    /// <inheritdoc />
    public override ExitCode Run(Func<TextWriter, ExitCode> body)
    {
        using var log = new LineWriter(Write);
        using (new Ticker(TimeSpan.FromMilliseconds(500), Tick))
        {
            return body(log);
        }
    }

    /// <inheritdoc />
    public override void Dispose() => _progress.StageFinished -= OnStageFinished;

    private void Write(string line)
    {
        lock (_sync)
        {
            _error.WriteLine(line);
        }
    }

    private void Tick()
    {
        var status = _progress.Snapshot();
        lock (_sync)
        {
            if (status.Stage is null || status.Elapsed - _lastLine < Interval(status.Elapsed))
            {
                return;
            }

            _error.WriteLine(status.ToString());
            _lastLine = status.Elapsed;
        }
    }

    private void OnStageFinished(FinishedStage stage)
    {
        var status = _progress.Snapshot();
        lock (_sync)
        {
            _error.WriteLine($"{Finished(stage)} · {status.When()}");
            _lastLine = status.Elapsed;
        }
    }
}
