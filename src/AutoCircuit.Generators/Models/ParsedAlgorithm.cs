using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace AutoCircuit.Generators.Models;

/// <summary>A valid algorithm with where its key is written, for the assembly-wide duplicate-key check.</summary>
/// <param name="Spec">What the emitter needs (no locations, so edits that move it do not re-emit).</param>
/// <param name="KeySyntaxTree">The tree of the key argument.</param>
/// <param name="KeySpan">The span of the key argument.</param>
/// <remarks>Value equality is load-bearing (see <see cref="DiagnosticInfo"/>).</remarks>
internal sealed record ParsedAlgorithm(AlgorithmSpec Spec, SyntaxTree? KeySyntaxTree, TextSpan KeySpan);
