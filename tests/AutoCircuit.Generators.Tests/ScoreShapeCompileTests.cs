using AutoCircuit.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Xunit;

namespace AutoCircuit.Generators.Tests;

/// <summary>
/// The compile-time half of the typed score shapes (AutoCircuit.Scores): an axis accessor exists only on the kinds
/// that have the axis, and <c>Match</c> makes the author handle every kind. (The run-time half, shapes checked at
/// construction, is in AutoCircuit.Abstractions.Tests.)
/// </summary>
public sealed class ScoreShapeCompileTests
{
    [Theory]
    [InlineData("SrcScores s", "s.Head(0)", "CS1061")]
    [InlineData("SrcScores s", "s.Position(0)", "CS1061")]
    [InlineData("SeqSrcScores s", "s.Head(0)", "CS1061")]
    [InlineData("HeadSrcScores s", "s.Position(0)", "CS1061")]
    [InlineData("HeadSrcScores s", "s.At(0, 0)", "CS1061")]
    [InlineData("DestinationScores s", "s.Head(0)", "CS1061")]
    [InlineData("HeadSrcScores s", "(SrcScores)s", "CS0030")]
    [InlineData("DestinationScores s", "s.Match<int>(a => 1, b => 2, c => 3)", "CS7036")]
    public void AxisTheDestinationLacks_DoesNotCompile(string parameter, string expression, string error)
    {
        var errors = Errors(parameter, expression);

        Assert.Equal(error, Assert.Single(errors).Id);
    }

    [Theory]
    [InlineData("SrcScores s", "s.Source(null!)")]
    [InlineData("HeadSrcScores s", "s.Head(0)")]
    [InlineData("SeqSrcScores s", "s.Position(0)")]
    [InlineData("SeqHeadSrcScores s", "s.At(0, 1)")]
    [InlineData("SeqHeadSrcScores s", "s.Head(1)")]
    [InlineData("DestinationScores s", "s.Match<int>(a => 1, b => 2, c => 3, d => 4)")]
    public void AxisTheDestinationHas_Compiles(string parameter, string expression)
    {
        Assert.Empty(Errors(parameter, expression));
    }

    private static IReadOnlyList<Diagnostic> Errors(string parameter, string expression)
    {
        var compilation = GeneratorHarness.Compile($$"""
            using AutoCircuit.Scores;

            public static class Author
            {
                public static object Use({{parameter}}) => {{expression}};
            }
            """);
        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }
}
