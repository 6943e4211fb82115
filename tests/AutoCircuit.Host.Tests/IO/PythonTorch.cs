using System.Diagnostics;
using Xunit;

namespace AutoCircuit.Host.Tests.IO;

/// <summary>A Python with PyTorch (Debian's <c>python3-torch</c>), to read our <c>.pt</c> files as MIB does.</summary>
internal static class PythonTorch
{
    private static readonly Lazy<string?> Found = new(Find);

    /// <summary>The interpreter that imports <c>torch</c>, or <c>null</c>.</summary>
    public static string? Interpreter => Found.Value;

    public const string Missing = "needs a python3 that imports torch (Debian: apt-get install python3-torch)";

    private static string? Find()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (code, _, _) = Run(candidate, ["-c", "import torch"], TimeSpan.FromSeconds(60));
                if (code == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed
            }
        }

        return null;
    }

    /// <summary>Runs the interpreter with <paramref name="args"/>; exit code, stdout, stderr.</summary>
    public static (int Code, string Out, string Error) Run(string python, IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
            throw new TimeoutException($"{python} did not finish in {timeout}.");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact skipped, with the reason shown, when no Python with PyTorch is installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.Interpreter is null)
        {
            Skip = PythonTorch.Missing;
        }
    }
}
