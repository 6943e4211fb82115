using AutoCircuit.Host.IO;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>
/// The one-line-refusal contract: the documented exit code, nothing on stdout, exactly one line on stderr that starts
/// with <c>error: </c>, names what it must (file, field, tensor or option) and carries no stack trace, and no results
/// folder, staging folder or lock file left behind.
/// </summary>
internal static class RefusalContract
{
    public static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Asserts the contract; <paramref name="names"/> must all appear in the line.</summary>
    public static void AssertRefused((int Code, string Out, string Err) result, int code, params string[] names)
    {
        var (actual, stdout, stderr) = result;
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(actual == code, $"exit code {actual}, expected {code}; stderr:\n{stderr}");
        Assert.True(stdout.Length == 0, $"stdout must stay empty; it holds:\n{stdout}");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", stderr, StringComparison.Ordinal);
        if (names.Any(n => n.StartsWith("--", StringComparison.Ordinal) && !n.Contains(' ', StringComparison.Ordinal)) && !stderr.StartsWith("error:", StringComparison.Ordinal))
        {
            // a command-line parse error: System.CommandLine's lines (and typo suggestions) on stderr
            foreach (var n in names)
            {
                Assert.Contains(n, stderr, StringComparison.Ordinal);
            }

            return;
        }

        Assert.True(lines.Length == 1, $"expected one line on stderr; got {lines.Length}:\n{stderr}");
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        foreach (var n in names)
        {
            Assert.True(lines[0].Contains(n, StringComparison.Ordinal), $"the line must name '{n}': {lines[0]}");
        }
    }

    /// <summary>No results folder, staging folder or lock file anywhere under <paramref name="dir"/>.</summary>
    public static void AssertNothingLeft(string dir, string outDir)
    {
        Assert.False(Directory.Exists(outDir), $"{outDir} was left behind");
        var leftovers = Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(p) == ResultsDirectory.LockFileName ||
                        Path.GetFileName(p).StartsWith(ResultsDirectory.StagingPrefix, StringComparison.Ordinal) ||
                        Path.GetFileName(p).Contains(".tmp-", StringComparison.Ordinal))
            .ToList();
        Assert.True(leftovers.Count == 0, $"left behind: {string.Join(", ", leftovers)}");
    }
}
