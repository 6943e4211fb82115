using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using AutoCircuit.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace AutoCircuit.Generators.Tests;

/// <summary>
/// Cacheability (Andrew Lock's "testing pipeline outputs are cacheable"): a second run on an equivalent compilation
/// must find every named step Cached or Unchanged, and no step output may hold a compilation, symbol, syntax node,
/// semantic model or location (which would root old compilations or defeat caching).
/// </summary>
public sealed class IncrementalTests
{
    private static readonly string[] s_trackingNames = typeof(TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .Order(StringComparer.Ordinal)
        .ToArray();

    [Fact]
    public void Run_OnClonedCompilation_EveryTrackedStepCachedOrUnchanged()
    {
        var compilation = GeneratorHarness.Compile(Samples.Representative, Samples.WithErrors);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult();

        var second = driver.RunGenerators(compilation.Clone()).GetRunResult();

        AssertEveryTrackedStepCached(first, second);
    }

    [Fact]
    public void Run_AfterAddingUnrelatedFile_EveryTrackedStepCachedOrUnchanged()
    {
        var compilation = GeneratorHarness.Compile(Samples.Representative, Samples.WithErrors);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var first = driver.GetRunResult();
        var unrelated = CSharpSyntaxTree.ParseText(Samples.Unrelated, GeneratorHarness.ParseOptions, path: "Unrelated.cs");

        var second = driver.RunGenerators(compilation.AddSyntaxTrees(unrelated)).GetRunResult();

        AssertEveryTrackedStepCached(first, second);
    }

    [Fact]
    public void Run_AfterEditingAnAlgorithm_RegistryRegenerated()
    {
        // Guards the tests above against passing vacuously: a real change must get through the cache.
        var compilation = GeneratorHarness.Compile(Samples.Representative);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var edited = tree.WithChangedText(tree.GetText().WithChanges(Replace(tree, "Scores the task's", "Marks the task's")));

        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(tree, edited)).GetRunResult().Results.Single();

        var registry = Assert.Single(result.TrackedSteps[TrackingNames.Registry]);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(registry.Outputs).Reason);
        Assert.Contains("Marks the task's", result.GeneratedSources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }

    private static Microsoft.CodeAnalysis.Text.TextChange Replace(SyntaxTree tree, string oldText, string newText)
    {
        var start = tree.GetText().ToString().IndexOf(oldText, StringComparison.Ordinal);
        return new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(start, oldText.Length), newText);
    }

    private static void AssertEveryTrackedStepCached(GeneratorDriverRunResult first, GeneratorDriverRunResult second)
    {
        var firstSteps = TrackedSteps(first);
        var secondSteps = TrackedSteps(second);

        // Every named step ran, so none of the checks below can pass by finding nothing.
        Assert.Equal(s_trackingNames, firstSteps.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(s_trackingNames, secondSteps.Keys.Order(StringComparer.Ordinal));
        foreach (var name in s_trackingNames)
        {
            var before = firstSteps[name];
            var after = secondSteps[name];
            Assert.Equal(before.Length, after.Length);
            for (var i = 0; i < before.Length; i++)
            {
                var beforeValues = before[i].Outputs.Select(o => o.Value).ToArray();
                var afterValues = after[i].Outputs.Select(o => o.Value).ToArray();
                Assert.True(beforeValues.SequenceEqual(afterValues), $"Step '{name}' produced different outputs.");
                foreach (var output in after[i].Outputs)
                {
                    Assert.True(
                        output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                        $"Step '{name}' output was {output.Reason}, expected Cached or Unchanged.");
                }

                AssertNoBannedObjects(beforeValues, name);
                AssertNoBannedObjects(afterValues, name);
            }
        }
    }

    private static Dictionary<string, ImmutableArray<IncrementalGeneratorRunStep>> TrackedSteps(GeneratorDriverRunResult result) =>
        result.Results.Single().TrackedSteps
            .Where(step => s_trackingNames.Contains(step.Key))
            .ToDictionary(step => step.Key, step => step.Value);

    /// <summary>
    /// Walks every object reachable from the outputs. A <see cref="SyntaxTree"/> is allowed as a leaf: diagnostic
    /// models keep the tree (compared by reference) to rebuild a suppressible location, as CommunityToolkit does;
    /// it roots only its own, still-live text, never a compilation.
    /// </summary>
    private static void AssertNoBannedObjects(IEnumerable<object> outputs, string stepName)
    {
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var output in outputs)
        {
            Visit(output);
        }

        void Visit(object? node)
        {
            if (node is null || !visited.Add(node))
            {
                return;
            }

            Assert.False(node is Compilation, $"Step '{stepName}' output holds a Compilation.");
            Assert.False(node is ISymbol, $"Step '{stepName}' output holds an ISymbol ({node}).");
            Assert.False(node is SyntaxNode, $"Step '{stepName}' output holds a SyntaxNode.");
            Assert.False(node is SemanticModel, $"Step '{stepName}' output holds a SemanticModel.");
            Assert.False(node is Location, $"Step '{stepName}' output holds a Location.");

            var type = node.GetType();
            if (node is SyntaxTree || type.IsPrimitive || type.IsEnum || node is string)
            {
                return;
            }

            if (node is IEnumerable items)
            {
                foreach (var item in items)
                {
                    Visit(item);
                }

                return;
            }

            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
            {
                Visit(field.GetValue(node));
            }
        }
    }
}
