using System.Collections.Immutable;
using AutoCircuit.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// Compiles plugin sources in memory (with the real registry generator, as a plugin build would) and writes the
/// assembly where the host looks for it: <c>&lt;folder&gt;/&lt;Name&gt;/&lt;Name&gt;.dll</c>. Used for the deliberately
/// bad plugins, which are faster to make this way than with <c>dotnet build</c>.
/// </summary>
internal static class TestPluginBuilder
{
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using AutoCircuit;
        using AutoCircuit.Scores;

        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    /// <summary>Compiles <paramref name="source"/> as assembly <paramref name="name"/> and writes <c>folder/name/name.dll</c>.</summary>
    /// <param name="runGenerator">Whether to run the registry generator (off for hand-written, deliberately bad registries).</param>
    /// <param name="references">Extra references (helper assemblies, a fake AutoCircuit.Abstractions).</param>
    /// <param name="replaceAbstractions">Leave out the real AutoCircuit.Abstractions (a replacement is in <paramref name="references"/>).</param>
    public static string Build(
        string folder,
        string name,
        string source,
        bool runGenerator = true,
        IEnumerable<MetadataReference>? references = null,
        bool replaceAbstractions = false)
    {
        var image = Compile(name, source, runGenerator, references, replaceAbstractions);
        var directory = Directory.CreateDirectory(Path.Combine(folder, name)).FullName;
        var path = Path.Combine(directory, name + ".dll");
        File.WriteAllBytes(path, image);
        return path;
    }

    /// <summary>Compiles to bytes; fails the test on any compiler or generator error.</summary>
    public static byte[] Compile(
        string name,
        string source,
        bool runGenerator = true,
        IEnumerable<MetadataReference>? references = null,
        bool replaceAbstractions = false)
        => Compile(name, [source], runGenerator, references, replaceAbstractions);

    /// <summary>Compiles several source files into one assembly; fails the test on any compiler or generator error.</summary>
    public static byte[] Compile(
        string name,
        IReadOnlyList<string> sources,
        bool runGenerator = true,
        IEnumerable<MetadataReference>? references = null,
        bool replaceAbstractions = false)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var baseReferences = replaceAbstractions
            ? s_references.Value.Where(r => !Path.GetFileName(r.Display ?? string.Empty).StartsWith("AutoCircuit.Abstractions", StringComparison.Ordinal))
            : s_references.Value;
        Compilation compilation = CSharpCompilation.Create(
            name,
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, parse, path: $"{name}{(i == 0 ? string.Empty : i.ToString(System.Globalization.CultureInfo.InvariantCulture))}.cs")),
            baseReferences.Concat(references ?? []),
            // The test plugins leave MemoryBudget undeclared (ACG0014, a warning about memory, not about loading).
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                specificDiagnosticOptions: [new KeyValuePair<string, ReportDiagnostic>("ACG0014", ReportDiagnostic.Suppress)]));
        if (runGenerator)
        {
            CSharpGeneratorDriver.Create([new AlgorithmRegistryGenerator().AsSourceGenerator()], parseOptions: parse)
                .RunGeneratorsAndUpdateCompilation(compilation, out compilation, out var generatorDiagnostics);
            Assert.Empty(generatorDiagnostics);
        }

        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, $"{name}: " + string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return stream.ToArray();
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        var trusted = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return trusted
            .Append(typeof(IPruneAlgorithm).Assembly.Location)
            .Append(typeof(TorchSharp.torch).Assembly.Location)
            .Select(Path.GetFullPath)
            .Distinct(StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    }
}
