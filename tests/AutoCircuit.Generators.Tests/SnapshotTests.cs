using System.Text.RegularExpressions;
using AutoCircuit.Generators.Tests.Infrastructure;
using AutoCircuit.Testing;
using Microsoft.CodeAnalysis;
using Xunit;

namespace AutoCircuit.Generators.Tests;

public sealed partial class SnapshotTests
{
    [Fact]
    public void Generate_RepresentativeInput_MatchesSnapshotWithoutDiagnostics()
    {
        var compilation = GeneratorHarness.Compile(Samples.Representative);

        var run = GeneratorHarness.Run(compilation);

        Assert.Empty(run.Diagnostics);
        Assert.Empty(run.CompilerErrors);
        var generated = Assert.Single(run.Result.GeneratedSources);
        Assert.Equal(AlgorithmRegistryGenerator.HintName, generated.HintName);
        // Warnings in generated code would fail every plugin build (TreatWarningsAsErrors).
        var generatedTree = generated.SyntaxTree;
        Assert.Empty(run.Output.GetDiagnostics().Where(d =>
            d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree == generatedTree));
        ApprovedFile.Verify(ScrubVersion(generated.SourceText.ToString()), "RepresentativeInput.Registry.g");
    }

    [Fact]
    public void Generate_NoPruneAlgorithmClasses_EmitsNothing()
    {
        var compilation = GeneratorHarness.Compile(Samples.Unrelated);

        var run = GeneratorHarness.Run(compilation);

        Assert.Empty(run.Diagnostics);
        Assert.Empty(run.Result.GeneratedSources);
    }

    [Fact]
    public void Generate_OnlyInvalidAlgorithms_EmitsEmptyRegistrySoOnlyOurDiagnosticShows()
    {
        // The user's code refers to the registry; it must still compile while the algorithm is broken.
        var source = GeneratorHarness.Prelude + """
            [PruneAlgorithm("broken")]
            public sealed class Broken { }

            public static class Usage
            {
                public static int Count => AutoCircuit.Generated.Sample.AlgorithmRegistry.Algorithms.Count;
            }
            """;

        var run = GeneratorHarness.Run(GeneratorHarness.Compile(source));

        Assert.Equal("ACG0001", Assert.Single(run.Diagnostics).Id);
        Assert.Empty(run.CompilerErrors);
        Assert.DoesNotContain("Broken", run.GeneratedSource, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_AssemblyNameWithDotsAndDashes_UsesSanitizedNamespace()
    {
        var compilation = GeneratorHarness.CompileAssembly("My.Plugin-1", GeneratorHarness.Prelude + $$"""
            [PruneAlgorithm("a")]
            public sealed class A : IPruneAlgorithm { {{GeneratorHarness.RunMember}} }
            """);

        var run = GeneratorHarness.Run(compilation);

        Assert.Empty(run.CompilerErrors);
        Assert.Contains("namespace AutoCircuit.Generated.My_Plugin_1", run.GeneratedSource, StringComparison.Ordinal);
        Assert.Contains("[assembly: global::AutoCircuit.Generated.My_Plugin_1.AlgorithmRegistryAttribute]", run.GeneratedSource, StringComparison.Ordinal);
    }

    /// <summary>The generator's version and the SDK version (which move with the repository) become <c>{scrubbed}</c>.</summary>
    private static string ScrubVersion(string source) =>
        SdkVersion().Replace(
            GeneratedCodeVersion().Replace(source, "GeneratedCode(\"AutoCircuit.Generators\", \"{scrubbed}\")"),
            "SdkVersion => \"{scrubbed}\";");

    [GeneratedRegex("""SdkVersion => "[0-9.]+";""")]
    private static partial Regex SdkVersion();

    [GeneratedRegex("""GeneratedCode\("AutoCircuit\.Generators", "[^"]*"\)""")]
    private static partial Regex GeneratedCodeVersion();
}
