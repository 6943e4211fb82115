using System.Text.RegularExpressions;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>A fenced code block of a documentation page.</summary>
/// <param name="Page">The page, relative to the repository root (<c>docs/cli.md</c>).</param>
/// <param name="Line">The line of the opening fence (1-based).</param>
/// <param name="Section">The nearest heading above it.</param>
/// <param name="Language">The fence's language (<c>bash</c>, <c>json</c>, empty).</param>
/// <param name="Lines">The block's lines, the fence's indentation removed.</param>
internal sealed partial record DocBlock(string Page, int Line, string Section, string Language, IReadOnlyList<string> Lines)
{
    /// <summary>Whether the block is shell (<c>bash</c>, <c>sh</c>, <c>shell</c>, <c>console</c> or no language).</summary>
    public bool IsShell => Language is "" or "bash" or "sh" or "shell" or "console";

    /// <summary>Whether the block uses the reference models beside the repository (<c>../shared</c>).</summary>
    public bool NeedsSharedModels => Lines.Any(l => l.Contains("../shared", StringComparison.Ordinal));

    /// <summary>
    /// The logical lines of a shell block with their line numbers: continuation lines joined, here-document bodies
    /// left out (they are data, not commands).
    /// </summary>
    public IEnumerable<(int Line, string Text)> LogicalLines()
    {
        string? heredoc = null;
        var start = 0;
        var text = string.Empty;
        for (var i = 0; i < Lines.Count; i++)
        {
            var line = Lines[i];
            if (heredoc is not null)
            {
                if (line.Trim() == heredoc)
                {
                    heredoc = null;
                }

                continue;
            }

            if (text.Length == 0)
            {
                start = Line + 1 + i;
            }

            if (line.EndsWith('\\'))
            {
                text += line[..^1] + " ";
                continue;
            }

            text += line;
            if (Heredoc().Match(text) is { Success: true } m)
            {
                heredoc = m.Groups[1].Value;
            }

            yield return (start, text);
            text = string.Empty;
        }
    }

    /// <summary>The <c>dotnet</c> commands of a shell block.</summary>
    public IEnumerable<DocCommand> Commands() =>
        IsShell ? LogicalLines().SelectMany(l => DocCommand.FromLine($"{Page}:{l.Line}", l.Text)) : [];

    [GeneratedRegex(@"<<-?\s*['""]?(\w+)['""]?")]
    private static partial Regex Heredoc();
}

/// <summary>The documentation pages whose commands must not drift: README.md and docs/*.md.</summary>
internal static class DocPages
{
    /// <summary>The pages, relative to the repository root, README first.</summary>
    public static IReadOnlyList<string> All { get; } =
        new[] { "README.md" }
            .Concat(Directory.GetFiles(Repository.File("docs"), "*.md").Select(f => "docs/" + Path.GetFileName(f)).Order(StringComparer.Ordinal))
            .ToList();

    /// <summary>The fenced code blocks of a page, in order.</summary>
    public static IReadOnlyList<DocBlock> Blocks(string page)
    {
        var lines = File.ReadAllLines(Repository.File(page.Split('/')));
        var blocks = new List<DocBlock>();
        var section = string.Empty;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart();
            if (trimmed.StartsWith('#'))
            {
                section = trimmed.TrimStart('#').Trim();
                continue;
            }

            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = lines[i].Length - trimmed.Length;
            var language = trimmed[3..].Trim();
            var body = new List<string>();
            var open = i;
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i].Length >= indent && string.IsNullOrWhiteSpace(lines[i][..indent]) ? lines[i][indent..] : lines[i].TrimStart());
            }

            blocks.Add(new DocBlock(page, open + 1, section, language, body));
        }

        return blocks;
    }

    /// <summary>Every <c>dotnet</c> command of every page.</summary>
    public static IReadOnlyList<(DocBlock Block, DocCommand Command)> Commands() =>
        All.SelectMany(Blocks).SelectMany(b => b.Commands().Select(c => (b, c))).ToList();
}
