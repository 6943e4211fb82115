namespace AutoCircuit.Generators.Models;

/// <summary>One member of an enum option.</summary>
/// <param name="KebabName">The name accepted on the command line (<c>LogitExp</c> → <c>logit-exp</c>).</param>
/// <param name="MemberName">The C# member name.</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record EnumMemberSpec(string KebabName, string MemberName);
