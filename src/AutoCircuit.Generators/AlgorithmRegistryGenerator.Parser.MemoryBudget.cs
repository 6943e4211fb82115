using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AutoCircuit.Generators.Helpers;
using AutoCircuit.Generators.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static AutoCircuit.Generators.Diagnostics.DiagnosticDescriptors;

namespace AutoCircuit.Generators;

public sealed partial class AlgorithmRegistryGenerator
{
    internal static partial class Parser
    {
        private const string Undeclared = "Undeclared";
        private const string ChunksItself = "ChunksItself";

        /// <summary>Names of the SDK members that split a batch under the memory budget.</summary>
        private static readonly string[] ChunkingApiNames = ["RowChunks", "ChunkedAblations", "MaxPatchRows"];

        /// <summary>
        /// The <c>MemoryBudgetSupport</c> member the registry records for the class: the one declared on its
        /// <c>[PruneAlgorithm]</c>; when none is, <c>ChunksItself</c> if the class calls the chunking API, else
        /// <c>Undeclared</c> with warning ACG0014 (a budget the algorithm does not know about is silently exceeded).
        /// </summary>
        private static string MemoryBudgetOf(
            GeneratorAttributeSyntaxContext context,
            INamedTypeSymbol type,
            AttributeData attribute,
            KnownSymbols known,
            Location identifier,
            string display,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            // A value that is no member of the enum (a cast) counts as not declared.
            if (NamedArgument(attribute, "MemoryBudget") is int declared && declared != 0 &&
                known.MemoryBudgetSupport?.GetMembers().OfType<IFieldSymbol>()
                    .FirstOrDefault(f => f.HasConstantValue && f.ConstantValue is int v && v == declared) is { } member)
            {
                return member.Name;
            }

            if (CallsChunkingApi(context, type, known, cancellationToken))
            {
                return ChunksItself;
            }

            diagnostics.Add(DiagnosticInfo.Create(MemoryBudgetUndeclared, identifier, display));
            return Undeclared;
        }

        /// <summary>Whether the class's own code (any partial declaration) uses <c>RowChunks</c>, <c>ChunkedAblations</c> or <c>MaxPatchRows</c>.</summary>
        private static bool CallsChunkingApi(
            GeneratorAttributeSyntaxContext context,
            INamedTypeSymbol type,
            KnownSymbols known,
            CancellationToken cancellationToken)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                var declaration = reference.GetSyntax(cancellationToken);
                SemanticModel? model = null;
                foreach (var name in declaration.DescendantNodes().OfType<IdentifierNameSyntax>())
                {
                    if (!ChunkingApiNames.Contains(name.Identifier.ValueText))
                    {
                        continue;
                    }

                    model ??= declaration.SyntaxTree == context.SemanticModel.SyntaxTree
                        ? context.SemanticModel
                        : context.SemanticModel.Compilation.GetSemanticModel(declaration.SyntaxTree);
                    var symbol = model.GetSymbolInfo(name, cancellationToken).Symbol;
                    if (IsChunkingApi(symbol, known))
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static bool IsChunkingApi(ISymbol? symbol, KnownSymbols known) => symbol switch
        {
            INamedTypeSymbol t => KnownSymbols.Is(t, known.ChunkedAblations),
            IMethodSymbol m => KnownSymbols.Is((m.ReducedFrom ?? m).ContainingType, known.PatchableModelExtensions) ||
                               KnownSymbols.Is(m.ContainingType, known.PatchMemoryBudget) ||
                               m.ContainingType.AllInterfaces.Any(i => KnownSymbols.Is(i, known.PatchMemoryBudget)),
            _ => false,
        };
    }
}
