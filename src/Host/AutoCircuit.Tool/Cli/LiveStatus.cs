using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Host.Progress;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// Progress on a terminal: two live lines at the bottom of stderr (Spectre.Console's live display), redrawn five
/// times a second: where the job is (<c>[3/6] acdc · τ 7/20 · edge 812/2,113</c>) and an overall bar with the time
/// elapsed and left. Log lines are written above them through the same console, so they never overwrite each other;
/// the lines are cleared when the job ends.
/// </summary>
internal sealed class LiveStatus : StatusRenderer
{
    private readonly IAnsiConsole _console;
    private readonly JobProgress _progress;
    private readonly object _sync = new();

    private LiveStatus(IAnsiConsole console, JobProgress progress)
    {
        _console = console;
        _progress = progress;
        _progress.StageFinished += OnStageFinished;
    }

    /// <summary>A live display on the process's stderr, or <c>null</c> when the terminal does not take ANSI codes.</summary>
    public static LiveStatus? TryCreate(JobProgress progress)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Profile.Capabilities.Ansi ? new LiveStatus(console, progress) : null;
    }

    /// <summary>The two lines for <paramref name="status"/> on a terminal <paramref name="width"/> columns wide.</summary>
    internal static (string Where, int BarWidth, string When) Lines(ProgressStatus status, int width)
    {
        var usable = Math.Max(20, width - 1);
        var where = Crop(status.Where(), usable);
        var percent = status.Fraction is double f ? $"{Math.Floor(f * 100).ToString(CultureInfo.InvariantCulture),3}%" : "    ";
        var when = $" {percent}  {status.When()}";
        var barWidth = Math.Clamp(usable - when.Length, 0, 40);
        return (where, barWidth, Crop(when, usable - barWidth));
    }

    /// <inheritdoc />
    public override ExitCode Run(Func<TextWriter, ExitCode> body)
    {
        ExitCode code = default;
        _console.Live(Render(_progress.Snapshot()))
            .AutoClear(true)
            .Overflow(VerticalOverflow.Crop)
            .Start(ctx =>
            {
                using var log = new LineWriter(line =>
                {
                    lock (_sync)
                    {
                        _console.Write(new Text(line + "\n"));
                    }
                });
                using (new Ticker(TimeSpan.FromMilliseconds(200), () =>
                {
                    lock (_sync)
                    {
                        ctx.UpdateTarget(Render(_progress.Snapshot()));
                    }
                }))
                {
                    code = body(log);
                }
            });
        return code;
    }

    /// <inheritdoc />
    public override void Dispose() => _progress.StageFinished -= OnStageFinished;

    /// <summary>A finished stage stays on the screen as a log line (<c>[3/6] acdc: scored in 15 min 25 s</c>).</summary>
    private void OnStageFinished(FinishedStage stage)
    {
        lock (_sync)
        {
            _console.Write(new Text(LineStatus.Finished(stage) + "\n"));
        }
    }

    private IRenderable Render(ProgressStatus status)
    {
        var (where, barWidth, when) = Lines(status, _console.Profile.Width);
        var done = status.Fraction is double f ? (int)Math.Round(f * barWidth) : 0;
        var bar = $"[green]{new string('━', done)}[/][grey]{new string('─', barWidth - done)}[/]";
        return new Rows(new Text(where), new Markup(bar + Markup.Escape(when)));
    }

    private static string Crop(string text, int width) =>
        text.Length <= width ? text : text[..Math.Max(0, width - 1)] + "…";
}
