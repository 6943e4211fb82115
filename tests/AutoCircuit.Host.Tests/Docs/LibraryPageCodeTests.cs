using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// The C# example of docs/library.md, compiled as the program it is (top-level statements with the SDK's implicit
/// usings) against the library and run: it loads the toy model, runs an algorithm, evaluates and writes the report.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class LibraryPageCodeTests
{
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Threading.Tasks;
        """;

    [Fact]
    public void Example_CompilesAndRuns_WritingTheReport()
    {
        var block = Assert.Single(DocPages.Blocks("docs/library.md"), b => b.Language == "csharp" && b.Section == "Example");
        var references = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(typeof(AutoCircuit.Model).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var compilation = CSharpCompilation.Create(
            "LibraryExample",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse), CSharpSyntaxTree.ParseText(string.Join("\n", block.Lines), parse, path: "Program.cs")],
            references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, "docs/library.md, Example: " + string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));

        var report = Path.Combine(Directory.GetCurrentDirectory(), "report.html");
        File.Delete(report);
        var context = new AssemblyLoadContext("library-example", isCollectible: true);
        try
        {
            image.Position = 0;
            var entry = context.LoadFromStream(image).EntryPoint!;
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            Assert.Contains("mask-gradient", File.ReadAllText(report), StringComparison.Ordinal);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
        finally
        {
            context.Unload();
            File.Delete(report);
        }
    }
}
