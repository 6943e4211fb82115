using System.CommandLine.Help;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// docs/cli.md against the tool's parser, both ways: each command's section (with the option groups it links to)
/// names exactly the command's options and aliases; every option the page names exists; the exit-code table is the
/// tool's exit codes; the environment tables name every AUTOCIRCUIT_* variable the code reads, and no other.
/// </summary>
[Collection(nameof(SeededCollection))] // builds the command tree, whose shared options other CLI tests use
public sealed partial class CliPageTests
{
    private const string Page = "docs/cli.md";

    private static readonly string[] HelpNames = ["--help", "-h", "-?", "--version"];

    private static readonly IReadOnlyList<Section> Sections = ReadSections();

    /// <summary>A <c>##</c> section of the page, without its fenced blocks.</summary>
    private sealed record Section(string Title, string Anchor, string Text);

    public static TheoryData<string> Commands =>
        [.. CommandLine.Build(TextWriter.Null, TextWriter.Null).Subcommands.Where(c => !c.Hidden).Select(c => c.Name)]; // not __worker

    [Theory]
    [MemberData(nameof(Commands))]
    public void Section_NamesExactlyTheCommandsOptions(string name)
    {
        var command = CommandLine.Build(TextWriter.Null, TextWriter.Null).Subcommands.Single(c => c.Name == name);
        var section = Assert.Single(Sections, s => s.Title == $"`{name}`");
        var linked = LinkedAnchors().Matches(section.Text).Select(m => m.Groups[1].Value).ToHashSet();
        var documented = Options(section.Text)
            .Concat(Sections.Where(s => linked.Contains(s.Anchor)).SelectMany(s => Options(s.Text)))
            .ToHashSet();

        var expected = command.Options.Where(o => o is not HelpOption).SelectMany(o => o.Aliases.Prepend(o.Name)).ToHashSet();

        var missing = expected.Except(documented).Order(StringComparer.Ordinal).ToList();
        var extra = documented.Except(expected).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{Page}, section `{name}` (with the groups it links to): missing {string.Join(" ", missing)}; not options of `{name}`: {string.Join(" ", extra)}");
    }

    [Fact]
    public void Page_NamesOnlyOptionsTheToolHas()
    {
        var root = CommandLine.Build(TextWriter.Null, TextWriter.Null);
        var known = root.Options.Concat(root.Subcommands.SelectMany(c => c.Options)) // root options: --verbose (recursive)
            .SelectMany(o => o.Aliases.Prepend(o.Name)).Concat(HelpNames).ToHashSet();

        var unknown = Sections.SelectMany(s => Options(s.Text)).Distinct().Where(o => !known.Contains(o)).ToList();

        Assert.True(Sections.Count > 10, $"{Page}: only {Sections.Count} sections");
        Assert.True(unknown.Count == 0, $"{Page} names options the tool does not have: {string.Join(" ", unknown)}");
    }

    [Fact]
    public void ExitCodeTable_IsTheToolsExitCodes()
    {
        var section = Assert.Single(Sections, s => s.Title == "Exit codes");

        var documented = TableCodes().Matches(section.Text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

        Assert.Equal(Enum.GetValues<ExitCode>().Select(c => (int)c).Order(), documented.Order());
    }

    [Fact]
    public void EnvironmentTables_NameEveryVariableTheCodeReads()
    {
        var section = Assert.Single(Sections, s => s.Title == "Environment variables");
        var documented = Variable().Matches(section.Text).Select(m => m.Value).ToHashSet();
        var sources = new[] { "src", "tests" }
            .SelectMany(d => Directory.GetFiles(Repository.File(d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

        var read = sources.SelectMany(f => QuotedVariable().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();

        Assert.Contains("AUTOCIRCUIT_THREADS", read);
        Assert.True(read.SetEquals(documented),
            $"{Page}, Environment variables: missing {string.Join(" ", read.Except(documented))}; not read by the code: {string.Join(" ", documented.Except(read))}");
    }

    /// <summary>
    /// The options named in the inline code of a text: <c>--long</c> names and <c>-x</c> aliases (code that shows a
    /// whole <c>dotnet …</c> command line is left out: its options may be dotnet's own).
    /// </summary>
    private static IEnumerable<string> Options(string text) =>
        CodeSpan().Matches(text)
            .Select(span => span.Groups[1].Value)
            .Where(code => !code.StartsWith("dotnet ", StringComparison.Ordinal))
            .SelectMany(code => OptionToken().Matches(code).Select(m => m.Value));

    private static List<Section> ReadSections()
    {
        var sections = new List<Section>();
        var title = string.Empty;
        var text = new List<string>();
        var fenced = false;
        void Flush()
        {
            var anchor = new string(title.ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-').ToArray()).Replace(' ', '-');
            sections.Add(new Section(title, anchor, string.Join("\n", text)));
            text.Clear();
        }

        foreach (var line in File.ReadAllLines(Repository.File("docs", "cli.md")))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
            {
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                title = line[3..].Trim();
                continue;
            }

            text.Add(line);
        }

        Flush();
        return sections;
    }

    [GeneratedRegex(@"\]\(#([a-z0-9-]+)\)")]
    private static partial Regex LinkedAnchors();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z?])(?![\w:=-])")]
    private static partial Regex OptionToken();

    [GeneratedRegex(@"^\|\s*(\d+)\s*\|", RegexOptions.Multiline)]
    private static partial Regex TableCodes();

    [GeneratedRegex(@"AUTOCIRCUIT_[A-Z_]+")]
    private static partial Regex Variable();

    [GeneratedRegex(@"""(AUTOCIRCUIT_[A-Z_]+)""")]
    private static partial Regex QuotedVariable();
}
