using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using AutoCircuit.Generators.Diagnostics;
using AutoCircuit.Generators.Helpers;
using AutoCircuit.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AutoCircuit.Generators;

/// <summary>
/// Emits one <c>AutoCircuit.Registry.g.cs</c> per assembly: an <c>AlgorithmRegistry</c> with a descriptor, an
/// option binder and a factory for every <c>[PruneAlgorithm]</c> class, and the assembly attribute the host reads.
/// This file holds the pipeline only; see <see cref="Parser"/> and <see cref="Emitter"/>.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class AlgorithmRegistryGenerator : IIncrementalGenerator
{
    internal const string PruneAlgorithmAttributeName = "AutoCircuit.PruneAlgorithmAttribute";
    internal const string HintName = "AutoCircuit.Registry.g.cs";

    /// <summary>
    /// Test hook (like System.Text.Json's <c>OnSourceEmitting</c>): called with the class name before each class is
    /// parsed, so a test can make parsing throw and check that the failure becomes ACG9999.
    /// </summary>
    internal Action<string>? OnParsing { get; set; }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var knownSymbols = context.CompilationProvider.Select(static (compilation, _) => KnownSymbols.Create(compilation));

        // The attribute transform only captures its context; parsing runs after Combine so that it can use the
        // symbols resolved once per compilation (System.Text.Json does the same). The parse step's output is a
        // value-equal model, so everything downstream of it is cached.
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                PruneAlgorithmAttributeName,
                static (node, _) => node is ClassDeclarationSyntax,
                static (attributeContext, _) => attributeContext)
            .Combine(knownSymbols)
            .Select((input, cancellationToken) => ParseSafely(input.Left, input.Right, cancellationToken))
            .WithTrackingName(TrackingNames.Parse);

        // Diagnostics are separate outputs from the source, so reporting never depends on (or re-runs) emitting.
        var diagnostics = parsed
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, items) => Report(spc, items));

        var duplicateKeys = parsed
            .Select(static (result, _) => result.Value)
            .Collect()
            .Select(static (algorithms, cancellationToken) => Parser.FindDuplicateKeys(algorithms, cancellationToken))
            .WithTrackingName(TrackingNames.DuplicateKeys);
        context.RegisterSourceOutput(duplicateKeys, static (spc, items) => Report(spc, items));

        var assembly = context.CompilationProvider
            .Select(static (compilation, _) => Parser.ParseAssembly(compilation))
            .WithTrackingName(TrackingNames.Assembly);

        var registry = parsed
            .Select(static (result, _) => result.Value?.Spec)
            .WithTrackingName(TrackingNames.Specs)
            .Collect()
            .Combine(assembly)
            .Select(static (input, _) => Parser.CreateRegistry(input.Left, input.Right))
            .WithTrackingName(TrackingNames.Registry);
        context.RegisterSourceOutput(registry, static (spc, spec) => EmitSafely(spc, spec));
    }

    private Result<ParsedAlgorithm?> ParseSafely(
        GeneratorAttributeSyntaxContext context,
        KnownSymbols known,
        CancellationToken cancellationToken)
    {
        try
        {
            OnParsing?.Invoke(context.TargetSymbol.Name);
            return Parser.Parse(context, known, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var identifier = ((ClassDeclarationSyntax)context.TargetNode).Identifier.GetLocation();
            var error = DiagnosticInfo.Create(
                DiagnosticDescriptors.UnexpectedError,
                identifier,
                context.TargetSymbol.ToDisplayString(),
                Describe(ex));
            return new Result<ParsedAlgorithm?>(null, ImmutableArray.Create(error));
        }
    }

    private static void EmitSafely(SourceProductionContext context, RegistrySpec? spec)
    {
        if (spec is null)
        {
            return; // no [PruneAlgorithm] class in this compilation
        }

        string source;
        try
        {
            source = Emitter.Emit(spec, context.CancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                DiagnosticDescriptors.UnexpectedError,
                Location.None,
                HintName,
                Describe(ex)));
            return;
        }

        context.AddSource(HintName, source);
    }

    private static void Report(SourceProductionContext context, IEnumerable<DiagnosticInfo> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
    }

    /// <summary>One line: the exception and its stack, for a bug report.</summary>
    private static string Describe(Exception ex) =>
        (ex.GetType().FullName + ": " + ex.Message + " " + ex.StackTrace)
            .Replace("\r", string.Empty)
            .Replace('\n', ' ')
            .Trim();
}
