using System.Diagnostics;
using AutoCircuit.Engine;
using AutoCircuit.Host;
using Spectre.Console;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// Progress on stderr: live bars when stderr is a terminal, else one line per task when it ends
/// (and every 10 s while it runs) so redirected logs stay readable.
/// </summary>
public static class ProgressDisplay
{
    /// <summary>Runs a job with a progress sink on <paramref name="error"/>.</summary>
    public static ExitCode Run(TextWriter error, CancellationToken token, Func<RunEnvironment, ExitCode> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var interactive = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        if (!interactive)
        {
            return job(new RunEnvironment(TextWriter.Null, error, new LineProgress(error), token));
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ExitCode result = ExitCode.Ok;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx => result = job(new RunEnvironment(TextWriter.Null, new LockedWriter(error), new SpectreProgress(ctx), token)));
        return result;
    }

    private sealed class SpectreProgress(ProgressContext context) : IProgressSink
    {
        public IProgressTask Start(string description, long total)
        {
            var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
            return new Task(task);
        }

        private sealed class Task(ProgressTask task) : IProgressTask
        {
            public void Advance(long steps = 1) => task.Increment(steps);

            public void Describe(string description) => task.Description = Markup.Escape(description);

            public void Dispose()
            {
                task.Value = task.MaxValue;
                task.StopTask();
            }
        }
    }

    private sealed class LineProgress(TextWriter error) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => new Task(error, description, total);

        private sealed class Task(TextWriter error, string description, long total) : IProgressTask
        {
            private readonly Stopwatch _clock = Stopwatch.StartNew();
            private long _done;
            private string _description = description;
            private TimeSpan _lastReport;

            public void Advance(long steps = 1)
            {
                _done += steps;
                if (_clock.Elapsed - _lastReport > TimeSpan.FromSeconds(10))
                {
                    _lastReport = _clock.Elapsed;
                    error.WriteLine($"{_description}: {_done}/{total} ({_clock.Elapsed.TotalSeconds:0} s)");
                }
            }

            public void Describe(string description) => _description = description;

            public void Dispose() => error.WriteLine($"{_description}: done, {_done}/{total} in {_clock.Elapsed.TotalSeconds:0.##} s");
        }
    }

    /// <summary>Serialises log writes with the live display's redraws.</summary>
    private sealed class LockedWriter(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            lock (inner)
            {
                inner.Write(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (inner)
            {
                inner.WriteLine(value);
            }
        }
    }
}
