using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace AutoCircuit.Host.Tests.Sweeps;

/// <summary>The repository's tools/ scripts, found from this source file's path.</summary>
internal static class RepoTools
{
    public static string? Root([CallerFilePath] string sourceFile = "")
    {
        for (var dir = Path.GetDirectoryName(sourceFile); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "AutoCircuit.sln")))
            {
                return dir;
            }
        }

        return null;
    }

    /// <summary>Runs a script; returns its exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(string script, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (124, stdout.Result, $"{Path.GetFileName(script)}: no answer in {timeout.TotalSeconds} s");
        }

        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The last non-empty line of a script's stderr: its one-line reason.</summary>
    public static string Reason(string stderr) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
}
