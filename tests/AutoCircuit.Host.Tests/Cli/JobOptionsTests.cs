using System.CommandLine;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary>The options of a job request are declared once and mean the same in run, compare and evaluate.</summary>
[Collection(nameof(SeededCollection))]
public sealed class JobOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-options-").FullName;

    private static readonly string[] Shared =
    [
        "--model", "--download", "--task", "--dataset", "--graph", "--token-positions", "--batch-size", "--train-size", "--test-size",
        "--no-shuffle", "--seed", "--no-prepend-bos", "--tail-divergence", "--device", "--out", "--threads",
        "--max-patch-memory", "--patch-buffer-dtype",
    ];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Command Job(string name) =>
        CommandLine.Build(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == name);

    [Fact]
    public void SharedOptions_RunCompareEvaluate_HaveOneDeclaration()
    {
        var commands = new[] { "run", "compare", "evaluate" }.Select(Job).ToList();

        foreach (var name in Shared)
        {
            var options = commands.Select(c => c.Options.SingleOrDefault(o => o.Name == name)).ToList();
            Assert.All(options, o => Assert.NotNull(o));
            Assert.Single(options.Select(o => (o!.Description, o.HelpName, string.Join(",", o.Aliases.Order()), o.ValueType)).Distinct());
        }

        Assert.Equal([true, true, false], commands.Select(c => c.Options.Any(o => o.Name == "--plugins")));
    }

    [Fact]
    public void SharedOptions_EachCommand_HasItsOwnInstances()
    {
        var run = Job("run").Options.Single(o => o.Name == "--seed");
        var compare = Job("compare").Options.Single(o => o.Name == "--seed");

        Assert.NotSame(run, compare);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("compare")]
    [InlineData("evaluate")]
    public async Task Graph_UnknownKind_UsageErrorInEveryJob(string command)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var outDir = Path.Combine(_dir, "out");
        string[] args = command == "evaluate"
            ? [command, "--scores", "x.json", "--graph", "bogus", "--out", outDir]
            : [command, "--graph", "bogus", "--out", outDir];

        var code = await CommandLine.InvokeAsync(args, output, error);

        Assert.Equal(1, code);
        Assert.Contains("bogus", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }
}
