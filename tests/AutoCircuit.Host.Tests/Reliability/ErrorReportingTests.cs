using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>How errors reach the user: one line, a crash log for the unexpected, traces only when asked, stdout clean.</summary>
[Collection(nameof(SeededCollection))]
public sealed partial class ErrorReportingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-errors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Guard_UnexpectedException_OneLineAndACrashLogWithTheTrace()
    {
        using var error = new StringWriter();

        var code = CommandLine.Guard(error, () => throw new InvalidOperationException("a bug\non two lines"));

        Assert.Equal((int)ExitCode.InternalError, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: unexpected InvalidOperationException: a bug on two lines (details in ", line, StringComparison.Ordinal);
        var log = CrashLog().Match(line).Groups[1].Value;
        try
        {
            var text = File.ReadAllText(log);
            Assert.Contains("System.InvalidOperationException: a bug", text, StringComparison.Ordinal);
            Assert.Contains("   at ", text, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public void Guard_FileSystemError_OneLineUsageError()
    {
        using var error = new StringWriter();

        var code = CommandLine.Guard(error, () => throw new IOException("No space left on device : '/data/out/scores/x.json'"));

        Assert.Equal(1, code);
        Assert.Equal("error: No space left on device : '/data/out/scores/x.json'", error.ToString().Trim());
    }

    [Fact]
    public void Guard_Cancelled_OneLineAnd130()
    {
        using var error = new StringWriter();

        var code = CommandLine.Guard(error, () => throw new OperationCanceledException());

        Assert.Equal(130, code);
        Assert.Equal("cancelled: stopped; unfinished results were removed.", error.ToString().Trim());
    }

    [Fact]
    public async Task Verbose_AnticipatedError_AddsTheTrace()
    {
        var missing = Path.Combine(_dir, "missing.json");

        var (quietCode, _, quiet) = await RefusalContract.Run("run", "--model", "micro", "--dataset", missing, "--out", Path.Combine(_dir, "o"));
        var (code, output, verbose) = await RefusalContract.Run("run", "--model", "micro", "--dataset", missing, "--out", Path.Combine(_dir, "o"), "--verbose");

        Assert.Equal(1, quietCode);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.DoesNotContain("   at ", quiet, StringComparison.Ordinal);
        Assert.StartsWith($"error: {missing}: dataset file not found.", verbose, StringComparison.Ordinal);
        Assert.Contains("   at AutoCircuit.Host.Data.DatasetDocument.Load", verbose, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--no-such-flag")]
    [InlineData("run", "--batch-size", "many")]
    [InlineData("no-such-command")]
    public async Task ParseError_NothingOnStdout(params string[] args)
    {
        var (code, output, err) = await RefusalContract.Run(args);

        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        Assert.Contains(args[^1], err, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", err, StringComparison.Ordinal); // no help text either
    }

    [GeneratedRegex(@"details in (.+?\.log);")]
    private static partial Regex CrashLog();
}
