using AutoCircuit.Host.Tests.Hub;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Host.Tests.Plugins;
using AutoCircuit.Tool.Cli;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// Documentation that cannot drift: every <c>dotnet</c> command in a shell block of README.md and docs/*.md parses
/// with the tool's own parser (when it runs the tool) and is run, by these tests (each page's blocks that hold a tool
/// command CI does not run, as written, in a scratch copy of the repository root) or by <c>.ci/run</c>.
/// </summary>
[Collection(nameof(SeededCollection))] // builds the command tree, whose shared options other CLI tests use
public sealed class DocCommandTests
{
    [Fact]
    public void Commands_ParseAndAreRunByTheTestsOrByCi()
    {
        var commands = DocPages.Commands();
        var problems = new List<string>();

        foreach (var (block, command) in commands)
        {
            if (command.ToolArguments is { } args)
            {
                var parse = CommandLine.Build(TextWriter.Null, TextWriter.Null).Parse(args.ToArray());
                if (parse.Errors.Count > 0)
                {
                    problems.Add($"{command.Where}: `{command.Text}` does not parse: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                }
            }

            var runBy = CiScript.Running(command) is not null ? ".ci/run"
                : AuthorWorkflow.RunsBlock(block) ? "the plugin author tests"
                : ModelsByNamePageTests.RunsBlock(block) ? "the models-by-name page test"
                : DocScript.RunByTests(command) ? "the doc tests"
                : null;
            if (runBy is null)
            {
                problems.Add($"{command.Where}: `{command.Text}` is run neither by a test nor by .ci/run: add it to .ci/run (or show a tool command the tests can run)");
            }
        }

        Assert.True(commands.Count >= 20, $"only {commands.Count} commands found in {string.Join(", ", DocPages.All)}");
        Assert.True(problems.Count == 0, "Documentation commands that drift:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Readme_TheTwoCommands_AreRunByCi()
    {
        var readme = DocPages.Blocks("README.md").SelectMany(b => b.Commands()).ToList();

        var run = Assert.Single(readme, c => c.ToolArguments is ["run"]);
        var test = Assert.Single(readme, c => c.Words.SequenceEqual(["dotnet", "test"]));

        Assert.Equal(["dotnet", "run", "--project", DocCommand.ToolProject, "--", "run"], run.Words);
        Assert.NotNull(CiScript.Running(run));
        Assert.NotNull(CiScript.Running(test));
    }

    [Fact]
    public void Coverage_RecognisesToolCommandsAndCiPrefixes()
    {
        // The rules themselves: the three ways to run the tool, and what counts as "CI runs it".
        var tool = DocCommand.FromLine("t", "dotnet run -c Release --project src/Host/AutoCircuit.Tool -- bench --quick").Single();
        var installed = DocCommand.FromLine("t", "X=1 dotnet autocircuit list --plugins \"a b\" # comment").Single();
        var built = DocCommand.FromLine("t", "dotnet ./artifacts/byo/dotnet-autocircuit.dll run").Single();
        var other = DocCommand.FromLine("t", "cd ~ && dotnet new classlib -o MyPlugin && cd MyPlugin").Single();
        var ci = DocCommand.FromLine("ci", "X=/somewhere dotnet autocircuit list --plugins \"a b\" --extra").Single();

        Assert.Equal(["bench", "--quick"], tool.ToolArguments);
        Assert.Equal(["list", "--plugins", "a b"], installed.ToolArguments);
        Assert.Equal(["X"], installed.Environment);
        Assert.Equal(["run"], built.ToolArguments);
        Assert.Null(other.ToolArguments);
        Assert.Equal(["dotnet", "new", "classlib", "-o", "MyPlugin"], other.Words);
        Assert.True(installed.IsRunBy(ci));
        Assert.False(ci.IsRunBy(installed));
        Assert.False(DocCommand.FromLine("t", "dotnet autocircuit list --plugins b").Single().IsRunBy(ci));
        Assert.False(DocCommand.FromLine("t", "Y=1 dotnet autocircuit list").Single().IsRunBy(ci));
    }
}

/// <summary>Runs each page's shell blocks that hold tool commands CI does not run, as written.</summary>
public sealed class DocPageRunTests(ITestOutputHelper output)
{
    public static TheoryData<string> Pages => Runnable(sharedModels: false);

    public static TheoryData<string> PagesWithReferenceModels => Runnable(sharedModels: true);

    [Theory]
    [MemberData(nameof(Pages))]
    public void Page_ToolCommands_RunAsWritten(string page) => RunPage(page, sharedModels: false);

    [SharedModelsTheory]
    [MemberData(nameof(PagesWithReferenceModels))]
    public void Page_ToolCommandsWithTheReferenceModels_RunAsWritten(string page) => RunPage(page, sharedModels: true);

    private static TheoryData<string> Runnable(bool sharedModels)
    {
        var data = new TheoryData<string>();
        foreach (var page in DocPages.All.Where(p => Blocks(p, sharedModels).Count > 0))
        {
            data.Add(page);
        }

        return data;
    }

    /// <summary>The blocks of a page the doc tests run: shell blocks with a tool command CI does not run.</summary>
    private static List<DocBlock> Blocks(string page, bool sharedModels) =>
        DocPages.Blocks(page)
            .Where(b => b.IsShell && b.NeedsSharedModels == sharedModels && !AuthorWorkflow.RunsBlock(b) && !ModelsByNamePageTests.RunsBlock(b)
                        && b.Commands().Any(DocScript.RunByTests))
            .ToList();

    private void RunPage(string page, bool sharedModels)
    {
        var blocks = Blocks(page, sharedModels);
        var root = Directory.CreateTempSubdirectory("ac-docs-").FullName;
        try
        {
            // A scratch repository root: the repository's entries linked in, so that paths such as tests/Fixtures/…
            // resolve, while everything a command writes lands in the scratch folder. ../shared is linked when present.
            var repo = Directory.CreateDirectory(Path.Combine(root, "repo")).FullName;
            foreach (var entry in Directory.EnumerateFileSystemEntries(Repository.Root))
            {
                var name = Path.GetFileName(entry);
                if (name is not (".git" or "artifacts" or "autocircuit-results" or ".tools" or "TestResults"))
                {
                    File.CreateSymbolicLink(Path.Combine(repo, name), entry);
                }
            }

            if (ModelFixtures.SharedModels is { } models)
            {
                Directory.CreateSymbolicLink(Path.Combine(root, "shared"), Path.GetDirectoryName(models)!);
            }

            var script = DocScript.ToBash(blocks, skipCiCommands: true);
            var (code, log) = DocScript.Run(script, repo, Path.Combine(root, "home"));

            output.WriteLine(script);
            output.WriteLine(log);
            Assert.True(code == 0, $"{page}: the commands of {string.Join(", ", blocks.Select(b => $"line {b.Line}"))} failed (exit code {code}):\n{Tail(log)}");
        }
        finally
        {
            // Unlink the links first: the recursive delete must never reach into the repository.
            var links = Directory.Exists(Path.Combine(root, "repo")) ? Directory.GetFileSystemEntries(Path.Combine(root, "repo")) : [];
            foreach (var link in links.Append(Path.Combine(root, "shared")).Where(e => new FileInfo(e).LinkTarget is not null))
            {
                File.Delete(link);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static string Tail(string log) => log.Length <= 6000 ? log : "…" + log[^6000..];
}
