using System.Text.Json;
using AutoCircuit.Host.IO;
using Xunit;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>
/// SIGINT and SIGTERM sent to the real tool: the run stops at the next batch boundary, prints one cancelled line,
/// removes what had not finished, keeps what had (run.json status "incomplete") and exits 130 / 143.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly string _dir = Directory.CreateTempSubdirectory("ac-signals-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(15, 143, "terminated (SIGTERM)")]
    [InlineData(2, 130, "cancelled (SIGINT)")]
    public void Signal_AfterTheFirstAlgorithm_KeepsItsResultsAndExitsWithTheSignalsCode(int signal, int code, string line)
    {
        var outDir = Path.Combine(_dir, "out");
        using var tool = new ToolProcess(_dir, "run", "-a", "activation-magnitude", "-a", "mask-gradient", "-a", "acdc", "--out", outDir);
        Assert.True(tool.WaitForStderr("activation-magnitude: circuits evaluated", Timeout), tool.Stderr); // finished
        Assert.True(tool.WaitForStderr("mask-gradient: scored", Timeout), tool.Stderr); // its circuits are being evaluated

        tool.Signal(signal);
        var exit = tool.Wait(Timeout);

        Assert.True(exit == code, $"exit {exit}; stderr:\n{tool.Stderr}");
        Assert.Contains($"{line}: stopped; unfinished results were removed.", tool.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", tool.Stderr, StringComparison.Ordinal);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("incomplete", run.RootElement.GetProperty("status").GetString());
        Assert.Equal(["activation-magnitude"], run.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetProperty("key").GetString()));
        Assert.True(File.Exists(Path.Combine(outDir, "scores", "activation-magnitude.safetensors")));
        Assert.False(File.Exists(Path.Combine(outDir, "report.html")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outDir, ".*"));
    }

    [Fact]
    public void Sigterm_BeforeAnyAlgorithmFinished_LeavesNothing()
    {
        var outDir = Path.Combine(_dir, "out");
        using var tool = new ToolProcess(_dir, "run", "-a", "mask-gradient", "--out", outDir);
        Assert.True(tool.WaitForStderr("model ", Timeout), tool.Stderr); // loaded; the algorithm runs
        Assert.True(Directory.Exists(outDir)); // claimed at the start

        tool.Signal(15);
        var exit = tool.Wait(Timeout);

        Assert.True(exit == 143, $"exit {exit}; stderr:\n{tool.Stderr}");
        Assert.False(Directory.Exists(outDir), string.Join(", ", Directory.Exists(outDir) ? Directory.GetFileSystemEntries(outDir) : []));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir, ResultsDirectory.LockFileName, SearchOption.AllDirectories));
    }
}
