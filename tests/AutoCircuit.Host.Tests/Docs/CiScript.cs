namespace AutoCircuit.Host.Tests.Docs;

/// <summary>The <c>dotnet</c> commands that <c>.ci/run</c> runs.</summary>
internal static class CiScript
{
    /// <summary>The CI script, relative to the repository root.</summary>
    public const string Path = ".ci/run";

    /// <summary>Every <c>dotnet</c> command of the script.</summary>
    public static IReadOnlyList<DocCommand> Commands { get; } = Read();

    /// <summary>The CI command that runs <paramref name="command"/>, if any.</summary>
    public static DocCommand? Running(DocCommand command) => Commands.FirstOrDefault(command.IsRunBy);

    private static List<DocCommand> Read()
    {
        var block = new DocBlock(Path, 0, string.Empty, "bash", File.ReadAllLines(Repository.File(".ci", "run")));
        return block.Commands().ToList();
    }
}
