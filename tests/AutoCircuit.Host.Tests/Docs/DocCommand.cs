namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// A <c>dotnet</c> command in a shell block of the documentation (or a line of <c>.ci/run</c>).
/// </summary>
/// <param name="Where">Page and line, e.g. <c>docs/cli.md:120</c>.</param>
/// <param name="Environment">The names of the <c>NAME=value</c> assignments in front of it.</param>
/// <param name="Words">The words from <c>dotnet</c> on, unexpanded.</param>
internal sealed record DocCommand(string Where, IReadOnlyList<string> Environment, IReadOnlyList<string> Words)
{
    /// <summary>The project path of the tool, as <c>dotnet run --project</c> names it.</summary>
    public const string ToolProject = "src/Host/AutoCircuit.Tool";

    /// <summary>The command as text (environment names, then the words).</summary>
    public string Text => string.Join(' ', Environment.Select(e => e + "=…").Concat(Words));

    /// <summary>
    /// The tool's arguments when this runs the tool (<c>dotnet autocircuit …</c>, <c>dotnet run … --project
    /// src/Host/AutoCircuit.Tool … -- …</c>, or <c>dotnet …/dotnet-autocircuit.dll …</c>), else <c>null</c>.
    /// </summary>
    public IReadOnlyList<string>? ToolArguments
    {
        get
        {
            if (Words.Count >= 2 && Words[1] == "autocircuit")
            {
                return Words.Skip(2).ToList();
            }

            if (Words.Count >= 2 && Words[1].EndsWith("dotnet-autocircuit.dll", StringComparison.Ordinal))
            {
                return Words.Skip(2).ToList();
            }

            var project = Words.ToList().IndexOf("--project");
            if (Words.Count >= 2 && Words[1] == "run" && project > 0 && project + 1 < Words.Count &&
                Words[project + 1].TrimEnd('/') is ToolProject or ToolProject + "/AutoCircuit.Tool.csproj")
            {
                var separator = Words.ToList().IndexOf("--");
                return separator < 0 ? [] : Words.Skip(separator + 1).ToList();
            }

            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="ci"/> runs this command: its words start with these words (it may add options) and it
    /// sets at least these environment variables (compared by name: values are machine paths).
    /// </summary>
    public bool IsRunBy(DocCommand ci) =>
        ci.Words.Count >= Words.Count && ci.Words.Take(Words.Count).SequenceEqual(Words) && Environment.All(ci.Environment.Contains);

    /// <summary>The <c>dotnet</c> commands of one logical shell line.</summary>
    public static IEnumerable<DocCommand> FromLine(string where, string line)
    {
        foreach (var words in ShellLine.Commands(line))
        {
            var env = words.TakeWhile(ShellLine.IsAssignment).ToList();
            var rest = words.Skip(env.Count).ToList();
            if (rest.Count > 0 && rest[0] == "dotnet")
            {
                yield return new DocCommand(where, env.Select(e => e[..e.IndexOf('=', StringComparison.Ordinal)]).ToList(), rest);
            }
        }
    }
}
