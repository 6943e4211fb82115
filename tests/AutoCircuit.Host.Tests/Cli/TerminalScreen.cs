using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>
/// Runs the built <c>dotnet-autocircuit</c> in a pseudo-terminal (a detached tmux session of a fixed size, on a
/// private tmux server) and reads back what a person would see: tmux interprets the escape codes, so the captured
/// text is the screen, not the byte stream.
/// </summary>
internal sealed class TerminalScreen : IDisposable
{
    private readonly string _socket = "ac-test-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _exitFile;

    private TerminalScreen(string workDir) => _exitFile = Path.Combine(workDir, "exit-code");

    /// <summary>Whether tmux is installed (<c>.ci/run</c> installs it).</summary>
    public static bool Available { get; } = Which("tmux");

    /// <summary>The tool as the test project's build copied it.</summary>
    public static string ToolDll => Path.Combine(AppContext.BaseDirectory, "dotnet-autocircuit.dll");

    /// <summary>Starts <c>dotnet-autocircuit <paramref name="arguments"/></c> in <paramref name="workDir"/> on a
    /// <paramref name="columns"/> × <paramref name="lines"/> terminal.</summary>
    public static TerminalScreen Start(string workDir, string arguments, int columns = 200, int lines = 50)
    {
        var screen = new TerminalScreen(workDir);

        // The shell stays after the tool exits (sleep), so that the screen can be read; NO_COLOR from the test's own
        // environment must not turn the live display off.
        var command = $"cd '{workDir}' && env -u NO_COLOR TERM=screen-256color dotnet '{ToolDll}' {arguments}; " +
                      $"echo $? > '{screen._exitFile}'; sleep 600";
        screen.Tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", columns.ToString(CultureInfo.InvariantCulture), "-y", lines.ToString(CultureInfo.InvariantCulture), command);
        screen.Tmux("set-option", "-t", "t", "history-limit", "20000");
        return screen;
    }

    /// <summary>The tool's exit code once it has exited, else <c>null</c>.</summary>
    public int? ExitCode => File.Exists(_exitFile) && File.ReadAllText(_exitFile).Trim() is { Length: > 0 } code ? int.Parse(code, CultureInfo.InvariantCulture) : null;

    /// <summary>The visible screen, line by line (trailing spaces removed).</summary>
    public IReadOnlyList<string> Visible() => Lines(Tmux("capture-pane", "-p", "-t", "t"));

    /// <summary>The whole history and screen, wrapped lines joined, trailing blank lines removed.</summary>
    public IReadOnlyList<string> All()
    {
        var lines = Lines(Tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    /// <summary>Polls the screen until the tool exits (or <paramref name="timeout"/>), keeping every distinct screen.</summary>
    public List<IReadOnlyList<string>> WaitForExit(TimeSpan timeout)
    {
        var screens = new List<IReadOnlyList<string>>();
        var clock = Stopwatch.StartNew();
        while (ExitCode is null)
        {
            Assert.True(clock.Elapsed < timeout, $"the tool did not exit within {timeout}; screen:\n{string.Join('\n', Visible())}");
            var visible = Visible();
            if (screens.Count == 0 || !screens[^1].SequenceEqual(visible))
            {
                screens.Add(visible);
            }

            Thread.Sleep(250);
        }

        return screens;
    }

    public void Dispose() => Tmux("kill-server");

    private static IReadOnlyList<string> Lines(string text) => text.Split('\n').Select(l => l.TrimEnd()).ToList();

    private string Tmux(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && args[0] != "kill-server")
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
        }

        return output;
    }

    private static bool Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Any(dir => File.Exists(Path.Combine(dir, program)));
}

/// <summary>A fact that needs tmux; skipped, with the reason shown, when it is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class TerminalFactAttribute : FactAttribute
{
    public TerminalFactAttribute()
    {
        if (!TerminalScreen.Available)
        {
            Skip = "needs tmux for a pseudo-terminal (apt-get install tmux; .ci/run installs it)";
        }
    }
}
