using System.Text.RegularExpressions;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>
/// What a person sees: the CLI in a real pseudo-terminal (live progress, then the tables, then the results lines) and
/// with stdout and stderr on one redirected stream (plain progress lines, never inside a table).
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed partial class TerminalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-term-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"^\| \d+ \| \S.* \| (all|\d+) \| (\S+|−?≥3\.4e38 \(max float\)) \|$")] // a score, or the largest float32 in words
    private static partial Regex TableRow();

    /// <summary>Every Markdown table of <c>run</c>: its header, rule and <paramref name="rows"/> rows, whole.</summary>
    private static void AssertTables(IReadOnlyList<string> lines, IReadOnlyList<string> keys, int rows)
    {
        foreach (var key in keys)
        {
            var at = lines.ToList().FindIndex(l => l.StartsWith($"## {key} (", StringComparison.Ordinal));
            Assert.True(at >= 0, $"no table for {key}:\n{string.Join('\n', lines)}");
            Assert.Equal("| rank | edge | position | score |", lines[at + 2]);
            Assert.Equal("|---:|---|---:|---:|", lines[at + 3]);
            for (var r = 0; r < rows; r++)
            {
                Assert.Matches(TableRow(), lines[at + 4 + r]);
            }
        }
    }

    [TerminalFact]
    public void Run_InAPseudoTerminal_LiveProgressThenWholeTablesThenResultsLast()
    {
        var outDir = Path.Combine(_dir, "out");
        using var screen = TerminalScreen.Start(_dir, $"run -a activation-magnitude -a acdc -a random --out '{outDir}'");

        var screens = screen.WaitForExit(TimeSpan.FromMinutes(5));
        var all = screen.All();

        Assert.True(screen.ExitCode == 0, string.Join('\n', all));

        // While it ran: the live status with ACDC's thresholds and edges, the overall bar and the time left.
        Assert.Contains(screens, s => s.Any(l => l.StartsWith("[2/3] acdc · τ ", StringComparison.Ordinal) && l.Contains(" · edge ", StringComparison.Ordinal)));
        Assert.Contains(screens, s => s.Any(l => l.Contains('━') && l.Contains("elapsed · ETA", StringComparison.Ordinal)));

        // At the end: no trace of the live lines, every table readable, the summary before the tables, and the results
        // folder and report as the last lines.
        Assert.DoesNotContain(all, l => l.Contains('━') || l.Contains("ETA", StringComparison.Ordinal));
        AssertTables(all, ["activation-magnitude", "acdc", "random"], rows: 10);
        var done = all.ToList().FindIndex(l => l.StartsWith("done in ", StringComparison.Ordinal));
        var firstTable = all.ToList().FindIndex(l => l.StartsWith("## ", StringComparison.Ordinal));
        Assert.InRange(done, 0, firstTable - 1);
        Assert.Equal($"results: {outDir}", all[^2]);
        Assert.Equal($"report:  {Path.Combine(outDir, "report.html")}", all[^1]);
        Assert.Contains(all, l => l.StartsWith("[2/3] acdc: scored in ", StringComparison.Ordinal)); // kept above the live lines
    }

    [Fact]
    public async Task Run_StdoutAndStderrOnOneStream_PlainProgressThenTablesThenResults()
    {
        var outDir = Path.Combine(_dir, "out");
        using var both = new StringWriter();

        var code = await CommandLine.InvokeAsync(
            ["run", "--model", "micro", "-a", "activation-magnitude", "-a", "random", "--out", outDir], both, both);

        var lines = both.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        Assert.True(code == 0, both.ToString());
        var scored = lines.FindIndex(l => l.StartsWith("[1/2] activation-magnitude: scored in ", StringComparison.Ordinal));
        var evaluated = lines.FindIndex(l => Regex.IsMatch(l, @"^\[2/2\] random: circuits evaluated in .* \([\d,]+ forward passes\)"));
        var done = lines.FindIndex(l => l.StartsWith("done in ", StringComparison.Ordinal));
        var firstTable = lines.FindIndex(l => l.StartsWith("## ", StringComparison.Ordinal));
        Assert.True(scored >= 0 && scored < evaluated && evaluated < done && done < firstTable, both.ToString());
        Assert.Contains("scoring", lines[done], StringComparison.Ordinal);
        AssertTables(lines, ["activation-magnitude", "random"], rows: 10);
        Assert.Equal($"results: {outDir}", lines[^2]);
        Assert.Equal($"report:  {Path.Combine(outDir, "report.html")}", lines[^1]);
    }
}
