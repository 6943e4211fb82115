using System.Xml.Linq;

namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>A project of the solution as its .csproj declares it.</summary>
/// <param name="Name">The project file's name without extension (<c>AutoCircuit.Engine</c>).</param>
/// <param name="Path">The project file, relative to the repository root.</param>
/// <param name="AssemblyName">The assembly it builds (<c>AssemblyName</c>, else <paramref name="Name"/>).</param>
/// <param name="RootNamespace">Its root namespace (<c>RootNamespace</c>, else <paramref name="Name"/>).</param>
/// <param name="References">The projects its <c>ProjectReference</c> items name (analyzer references included).</param>
internal sealed record ProjectInfo(string Name, string Path, string AssemblyName, string RootNamespace, IReadOnlyList<string> References)
{
    /// <summary>Every project under <paramref name="folder"/> (relative to the repository root), read from its .csproj.</summary>
    public static IReadOnlyList<ProjectInfo> ReadAll(string folder)
    {
        var root = Repository.Root;
        return Directory.GetFiles(System.IO.Path.Combine(root, folder), "*.csproj", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{System.IO.Path.DirectorySeparatorChar}obj{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Read(root, f))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
    }

    private static ProjectInfo Read(string root, string file)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(file);
        var xml = XDocument.Load(file);
        string? Property(string property) => xml.Descendants(property).Select(e => e.Value.Trim()).LastOrDefault(v => v.Length > 0);
        var references = xml.Descendants("ProjectReference")
            .Select(r => (string?)r.Attribute("Include") ?? throw new InvalidDataException($"{file}: a ProjectReference without Include"))
            .Select(include => System.IO.Path.GetFileNameWithoutExtension(include.Replace('\\', '/')))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        return new ProjectInfo(
            name,
            System.IO.Path.GetRelativePath(root, file),
            Property("AssemblyName") ?? name,
            Property("RootNamespace") ?? name,
            references);
    }
}
