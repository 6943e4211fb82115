using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace AutoCircuit.Generators.Tests.Infrastructure;

/// <summary>Builds test compilations and drives <see cref="AlgorithmRegistryGenerator"/> over them.</summary>
internal static class GeneratorHarness
{
    /// <summary>The usings every diagnostic test source starts with.</summary>
    public const string Prelude = """
        using System;
        using AutoCircuit;
        using AutoCircuit.Scores;

        namespace Sample;


        """;

    /// <summary>A body for <c>IPruneAlgorithm.Run</c>; the tests never call it.</summary>
    public const string RunMember = "public PruneScores Run(PruneContext context) => throw new NotImplementedException();";

    // Documentation mode Diagnose, so that missing XML docs on generated public members would show up as CS1591.
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    /// <summary>
    /// The test sources of the other rules leave <c>MemoryBudget</c> undeclared, so ACG0014 (which says so) is
    /// suppressed in them, as a project would with <c>NoWarn</c>; <see cref="CompileReportingMemoryBudget"/> keeps it.
    /// </summary>
    private static readonly ImmutableDictionary<string, ReportDiagnostic> s_withoutMemoryBudgetWarning =
        ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("ACG0014", ReportDiagnostic.Suppress);

    public static CSharpCompilation Compile(params string[] sources) => CompileAssembly("Sample", sources);

    /// <summary>Like <see cref="Compile"/>, with ACG0014 reported.</summary>
    public static CSharpCompilation CompileReportingMemoryBudget(params string[] sources) =>
        CompileAssembly("Sample", sources).WithOptions(Options(ImmutableDictionary<string, ReportDiagnostic>.Empty));

    public static CSharpCompilation CompileAssembly(string assemblyName, params string[] sources) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Source{i}.cs")),
            s_references.Value,
            Options(s_withoutMemoryBudgetWarning));

    private static CSharpCompilationOptions Options(ImmutableDictionary<string, ReportDiagnostic> specific) =>
        new(
            OutputKind.DynamicallyLinkedLibrary,
            nullableContextOptions: NullableContextOptions.Enable,
            deterministic: true,
            specificDiagnosticOptions: specific);

    public static GeneratorDriver CreateDriver(AlgorithmRegistryGenerator? generator = null) =>
        CSharpGeneratorDriver.Create(
            [(generator ?? new AlgorithmRegistryGenerator()).AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorRun Run(Compilation compilation, AlgorithmRegistryGenerator? generator = null)
    {
        var driver = CreateDriver(generator).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return new GeneratorRun(driver, output, diagnostics);
    }

    /// <summary>Runs the generator on <c>Prelude + markup</c> and returns the run and the span marked <c>[|...|]</c>.</summary>
    public static (GeneratorRun Run, TextSpan Span) RunMarkup(
        string markup, AlgorithmRegistryGenerator? generator = null, bool reportMemoryBudget = false)
    {
        var (source, span) = Markup.Parse(Prelude + markup);
        return (Run(reportMemoryBudget ? CompileReportingMemoryBudget(source) : Compile(source), generator), span);
    }

    /// <summary>
    /// Asserts that the generator reports exactly one diagnostic, <paramref name="id"/>, exactly at the marked
    /// span, and that the output compiles: invalid classes are left out instead of causing CS errors.
    /// </summary>
    public static Diagnostic AssertSingleDiagnostic(
        string markup, string id, AlgorithmRegistryGenerator? generator = null, bool reportMemoryBudget = false)
    {
        var (run, span) = RunMarkup(markup, generator, reportMemoryBudget);

        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal("Source0.cs", diagnostic.Location.SourceTree?.FilePath);
        Assert.Equal(
            diagnostic.Location.SourceTree!.GetText().ToString(span),
            diagnostic.Location.SourceTree.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        Assert.Empty(run.CompilerErrors);
        Assert.NotNull(run.GeneratedSource);
        return diagnostic;
    }

    /// <summary>Asserts a clean run: no generator diagnostics, no compiler errors, and <paramref name="key"/> registered.</summary>
    public static GeneratorRun AssertRegisteredWithoutDiagnostics(string source, string key, bool reportMemoryBudget = false)
    {
        var run = Run(reportMemoryBudget ? CompileReportingMemoryBudget(Prelude + source) : Compile(Prelude + source));

        Assert.Empty(run.Diagnostics);
        Assert.Empty(run.CompilerErrors);
        Assert.Contains($"key: \"{key}\",", run.GeneratedSource, StringComparison.Ordinal);
        return run;
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
