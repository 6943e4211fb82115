using System.Collections.Immutable;
using System.Linq;
using AutoCircuit.Generators.Helpers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace AutoCircuit.Generators.Models;

/// <summary>
/// A diagnostic in cacheable form: the tree and span instead of a <see cref="Location"/>, which is rebuilt by
/// <see cref="ToDiagnostic"/> so that it still points at (and can be suppressed in) the source.
/// </summary>
/// <param name="Descriptor">The rule.</param>
/// <param name="SyntaxTree">The tree the diagnostic is in, or <c>null</c> for no location.</param>
/// <param name="TextSpan">The span in <paramref name="SyntaxTree"/>.</param>
/// <param name="Arguments">The message format arguments.</param>
/// <remarks>
/// Value equality is load-bearing: this record flows through the incremental pipeline, and a member that
/// compares by reference (or an <c>ISymbol</c>/<c>SyntaxNode</c>/<c>Location</c>) would break caching or root
/// old compilations. The <see cref="Microsoft.CodeAnalysis.SyntaxTree"/> compares by reference, which is what we
/// want: an unchanged file keeps its tree instance across compilations.
/// </remarks>
internal sealed record DiagnosticInfo(
    DiagnosticDescriptor Descriptor,
    SyntaxTree? SyntaxTree,
    TextSpan TextSpan,
    EquatableArray<string> Arguments)
{
    /// <summary>Captures a diagnostic at <paramref name="location"/>.</summary>
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location? location, params string[] arguments) =>
        new(descriptor, location?.SourceTree, location?.SourceSpan ?? default, ImmutableArray.Create(arguments));

    /// <summary>The diagnostic with its location rebuilt.</summary>
    public Diagnostic ToDiagnostic()
    {
        var location = SyntaxTree is null ? Location.None : Location.Create(SyntaxTree, TextSpan);
        return Diagnostic.Create(Descriptor, location, Arguments.Select(a => (object?)a).ToArray());
    }
}
