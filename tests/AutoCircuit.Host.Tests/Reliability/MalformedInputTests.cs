using Xunit;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>Every case of <see cref="MalformedCorpus"/> through the command line: a one-line refusal, nothing left.</summary>
[Collection(nameof(SeededCollection))]
public sealed class MalformedInputTests : IDisposable
{
    private static readonly HashSet<string> FileClasses = new(StringComparer.Ordinal) { "dataset", "safetensors", "config", "llama2c", "pickle" };

    private readonly string _dir = Directory.CreateTempSubdirectory("ac-malformed-").FullName;

    public static TheoryData<string> Cases => [.. MalformedCorpus.All.Keys];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_Input_IsRefusedOnOneLineAndLeavesNothing(string name)
    {
        var c = MalformedCorpus.All[name];
        var outDir = Path.Combine(_dir, "out");
        var args = c.Args(_dir);
        if (args[0] == "run" && !args.Contains("--out"))
        {
            args = [.. args, "--out", outDir];
        }

        var result = await RefusalContract.Run(args);

        var names = new List<string> { c.Mention };
        if (FileClasses.Contains(c.Class))
        {
            names.Add(name.EndsWith("dev-zero", StringComparison.Ordinal) ? "/dev/zero" : _dir); // the line names the file
        }

        RefusalContract.AssertRefused(result, c.Code, [.. names]);
        RefusalContract.AssertNothingLeft(_dir, outDir);
    }

    [Fact]
    public void Corpus_CoversEveryClass()
    {
        var classes = MalformedCorpus.All.Values.GroupBy(c => c.Class).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        Assert.Equal(["config", "dataset", "llama2c", "options", "output", "pickle", "safetensors"], classes.Keys.Order(StringComparer.Ordinal));
        Assert.All(classes.Values, n => Assert.True(n >= 3));
    }
}
