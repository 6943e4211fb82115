using System.Globalization;
using AutoCircuit.Engine;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// What the user sees of an exception we did not anticipate (a bug): one line on stderr naming the exception and a
/// crash log that holds the stack trace, the command line and the versions. <c>--verbose</c> or
/// <c>AUTOCIRCUIT_DEBUG=1</c> print the trace on stderr as well (and for anticipated errors, their cause's trace).
/// </summary>
internal static class CrashReport
{
    /// <summary>Set (to anything but <c>0</c> or empty) to print stack traces on stderr.</summary>
    public const string DebugVariable = "AUTOCIRCUIT_DEBUG";

    private static readonly AsyncLocal<bool> s_verbose = new();
    private static readonly AsyncLocal<string[]?> s_args = new();

    /// <summary>Whether stack traces go to stderr (<c>--verbose</c> on this invocation, or <see cref="DebugVariable"/>).</summary>
    public static bool Verbose => s_verbose.Value || Environment.GetEnvironmentVariable(DebugVariable) is { Length: > 0 } v && v != "0";

    /// <summary>
    /// The folder crash logs go to: <c>$XDG_CACHE_HOME/autocircuit</c>, else <c>~/.cache/autocircuit</c>, else the
    /// temporary folder's <c>autocircuit</c>.
    /// </summary>
    public static string Folder
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? Path.Combine(xdg, "autocircuit")
                : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache", "autocircuit")
                : Path.Combine(Path.GetTempPath(), "autocircuit");
        }
    }

    /// <summary>Records this invocation's switch and command line (for the log).</summary>
    public static void Begin(bool verbose, string[] args)
    {
        s_verbose.Value = verbose;
        s_args.Value = args;
    }

    /// <summary>Writes the crash log and the one line; returns <see cref="ExitCode.InternalError"/>.</summary>
    public static int Report(TextWriter error, Exception e)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(e);
        var log = TryWriteLog(e);
        var where = log is null ? "no crash log could be written" : $"details in {log}";
        error.WriteLine(
            $"error: unexpected {e.GetType().Name}: {OneLine(e.Message)} ({where}; please report it; " +
            $"--verbose or {DebugVariable}=1 prints the stack trace).");
        if (Verbose)
        {
            error.WriteLine(e.ToString());
        }

        return (int)ExitCode.InternalError;
    }

    /// <summary>A message on one line.</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static string? TryWriteLog(Exception e)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        foreach (var folder in new[] { Folder, Path.Combine(Path.GetTempPath(), "autocircuit") })
        {
            try
            {
                Directory.CreateDirectory(folder);
                var path = Path.Combine(folder, $"crash-{stamp}-{Environment.ProcessId}.log");
                using var w = new StreamWriter(new FileStream(path, FileMode.CreateNew, FileAccess.Write));
                w.WriteLine($"dotnet-autocircuit crash, {DateTime.UtcNow:O}");
                w.WriteLine($"version: {typeof(CrashReport).Assembly.GetName().Version}; runtime {Environment.Version}; {Environment.OSVersion}");
                w.WriteLine($"command line: {string.Join(' ', s_args.Value ?? Environment.GetCommandLineArgs())}");
                w.WriteLine($"working directory: {Environment.CurrentDirectory}");
                w.WriteLine();
                w.WriteLine(e.ToString());
                return path;
            }
            catch (Exception io) when (io is IOException or UnauthorizedAccessException)
            {
                // try the next folder
            }
        }

        return null;
    }
}
