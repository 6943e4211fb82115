using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace AutoCircuit.Generators.Tests.Infrastructure;

/// <summary>One generator run: the driver (for run results), the updated compilation and the diagnostics.</summary>
internal sealed record GeneratorRun(GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> Diagnostics)
{
    public GeneratorRunResult Result => Driver.GetRunResult().Results.Single();

    /// <summary>The registry source, or <c>null</c> when none was emitted.</summary>
    public string? GeneratedSource =>
        Result.GeneratedSources.Length == 0 ? null : Result.GeneratedSources.Single().SourceText.ToString();

    public ImmutableArray<Diagnostic> CompilerErrors =>
        Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
}
