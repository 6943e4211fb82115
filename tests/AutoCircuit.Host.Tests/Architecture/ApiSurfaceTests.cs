using System.Collections.Immutable;
using System.Reflection;
using AutoCircuit.Host.Tests.Docs;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>
/// The host projects' public surface is what docs/api.md calls API: each assembly's public types, read by reflection
/// from the built assemblies, equal the types its section of the page lists, and the page's walk-through compiles
/// against that surface alone and runs.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class ApiSurfaceTests
{
    private const string Page = "docs/api.md";

    /// <summary>The projects under src/Host: every one needs a section of the page (a new project too).</summary>
    private static readonly IReadOnlyList<ProjectInfo> HostProjects = ProjectInfo.ReadAll(Path.Combine("src", "Host"));

    private static readonly Lazy<(IReadOnlyList<ApiEntry> Entries, IReadOnlySet<string> Sections, IReadOnlyList<string> Errors)> Parsed =
        new(() => ApiPage.Parse(File.ReadAllLines(Repository.File("docs", "api.md")), HostProjects.Select(p => p.Name).ToList()));

    public static TheoryData<string> Projects => [.. HostProjects.Select(p => p.Name)];

    /// <summary>The public types of a built assembly, nested public types of public types included.</summary>
    private static IReadOnlyList<(string Namespace, string Name)> PublicTypes(ProjectInfo project) =>
        Assembly.Load(new AssemblyName(project.AssemblyName)).GetExportedTypes().Select(ApiPage.NameOf).ToList();

    [Fact]
    public void Page_HasASectionForEveryHostProjectAndNoMalformedEntry()
    {
        var (_, sections, errors) = Parsed.Value;
        var missing = HostProjects.Select(p => p.Name).Where(n => !sections.Contains(n)).ToList();

        Assert.True(HostProjects.Count >= 6, $"only {HostProjects.Count} projects under src/Host");
        Assert.True(missing.Count == 0, $"{Page} has no '## <project>' section for: {string.Join(", ", missing)} (write one, even to say it has no public types).");
        Assert.True(errors.Count == 0, $"{Page}:\n" + string.Join("\n", errors));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void PublicTypes_AreExactlyThoseThePageLists(string name)
    {
        var project = HostProjects.Single(p => p.Name == name);
        var documented = Parsed.Value.Entries.Where(e => e.Assembly == name).ToList();

        var differences = ApiPage.Differences(name, PublicTypes(project), documented);

        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    [Fact]
    public void Differences_NameTheTypeToDocumentOrMakeInternal_AndTheLineToRemove()
    {
        string[] page =
        [
            "# Library API", "## AutoCircuit.Engine", "### AutoCircuit.Engine.Hooks",
            "- `HookPoint`: a named point.", "- `Gone`: a type that was made internal.", "## A session", "- `NotAnEntry`: prose",
        ];
        var (entries, sections, errors) = ApiPage.Parse(page, ["AutoCircuit.Engine", "AutoCircuit.Tool"]);

        var differences = ApiPage.Differences(
            "AutoCircuit.Engine",
            [("AutoCircuit.Engine.Hooks", "HookPoint"), ("AutoCircuit.Engine.Hooks", "HookNames.Micro")],
            entries);

        Assert.Empty(errors);
        Assert.Equal(["AutoCircuit.Engine"], sections);
        Assert.Equal(["AutoCircuit.Engine.Hooks.HookPoint", "AutoCircuit.Engine.Hooks.Gone"], entries.Select(e => e.FullName));
        Assert.Equal(2, differences.Count);
        Assert.StartsWith("AutoCircuit.Engine: AutoCircuit.Engine.Hooks.HookNames.Micro is public but docs/api.md does not list it", differences[0], StringComparison.Ordinal);
        Assert.Contains("'### AutoCircuit.Engine.Hooks', as: - `HookNames.Micro`: what it is for — or make it internal", differences[0], StringComparison.Ordinal);
        Assert.StartsWith("docs/api.md line 5 lists AutoCircuit.Engine.Hooks.Gone under '## AutoCircuit.Engine', but AutoCircuit.Engine has no public type", differences[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RejectsEntriesWithoutSentenceOrNamespaceAndDuplicates()
    {
        string[] page =
        [
            "## AutoCircuit.Host", "- `Early`: before any namespace heading.", "### AutoCircuit.Host.Jobs", "- `RunJob`",
            "- `RunJob`: one.", "- `RunJob`: twice.", "```csharp", "- `InCode`: not read", "```",
        ];

        var (entries, _, errors) = ApiPage.Parse(page, ["AutoCircuit.Host"]);

        Assert.Equal(2, entries.Count);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("`Early` is not under a ### namespace heading", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("line 4: write an entry as", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("AutoCircuit.Host.Jobs.RunJob is listed 2 times", StringComparison.Ordinal));
    }

    [Fact]
    public void NameOf_WritesNestedAndGenericTypesAsThePageDoes()
    {
        Assert.Equal(("AutoCircuit.Host.Tests.Architecture", "ApiSurfaceTests.Box<T>.Inner<TU>"), ApiPage.NameOf(typeof(Box<>.Inner<>)));
        Assert.Equal(("AutoCircuit.Host.Tests.Architecture", "ApiSurfaceTests"), ApiPage.NameOf(typeof(ApiSurfaceTests)));
    }

    /// <summary>
    /// The walk-through of the page, compiled as a program of its own: an assembly no InternalsVisibleTo names, so it
    /// sees the public surface only. Then it runs (the default task on the CPU), writing its diagram to a scratch folder
    /// instead of the working directory.
    /// </summary>
    [Fact]
    public void Walkthrough_CompilesAgainstThePublicSurfaceAndRuns()
    {
        var block = Assert.Single(DocPages.Blocks(Page), b => b.Language == "csharp" && b.Section == "A session");
        var scratch = Directory.CreateTempSubdirectory("ac-api-page-").FullName;
        try
        {
            var svg = Path.Combine(scratch, "eap.svg");
            var source = string.Join("\n", block.Lines);
            Assert.Contains("\"eap.svg\"", source, StringComparison.Ordinal);
            var image = CompileProgram("ApiPageWalkthrough", source.Replace("\"eap.svg\"", SymbolDisplay.FormatLiteral(svg, quote: true), StringComparison.Ordinal));

            var entry = Assembly.Load(image).EntryPoint ?? throw new InvalidOperationException("no entry point");
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);

            Assert.StartsWith("<svg", File.ReadAllText(svg).TrimStart(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static byte[] CompileProgram(string name, string source)
    {
        const string implicitUsings = """
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Threading;
            global using System.Threading.Tasks;
            """;
        var references = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(HostProjects.Select(p => Assembly.Load(new AssemblyName(p.AssemblyName)).Location))
            .Select(Path.GetFullPath)
            .Distinct(StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            name,
            [CSharpSyntaxTree.ParseText(source, parse, path: "api.md.cs"), CSharpSyntaxTree.ParseText(implicitUsings, parse, path: "usings.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        var problems = result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(result.Success && problems.Count == 0, $"{Page}'s walk-through against the public API:\n" + string.Join("\n", problems));
        return stream.ToArray();
    }

    /// <summary>For <see cref="NameOf_WritesNestedAndGenericTypesAsThePageDoes"/>.</summary>
    public sealed class Box<T>
    {
        /// <summary>A generic type nested in a generic type.</summary>
        public sealed class Inner<TU>;
    }
}
