using AutoCircuit.Engine;
using AutoCircuit.Patching;

namespace AutoCircuit.Evaluation;

/// <summary>The command-line names of patch types and ablation types.</summary>
internal static class EvaluationNames
{
    /// <summary>The CLI name of a patch type: <c>edge</c> or <c>tree</c>.</summary>
    public static string PatchTypeName(PatchType type) => type switch
    {
        PatchType.EdgePatch => "edge",
        PatchType.TreePatch => "tree",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses <c>--patch-type</c> (<c>edge</c> or <c>tree</c>).</summary>
    /// <exception cref="AutoCircuitException">Another value.</exception>
    public static PatchType ParsePatchType(string text, string option = "--patch-type") =>
        text?.Trim().ToLowerInvariant() switch
        {
            "edge" => PatchType.EdgePatch,
            "tree" => PatchType.TreePatch,
            _ => throw new AutoCircuitException($"{option} {text}: expected edge or tree."),
        };

    /// <summary>Parses <c>--ablation</c> (an <see cref="AblationType"/> CLI name such as <c>tokenwise-mean-clean</c>).</summary>
    /// <exception cref="AutoCircuitException">An unknown name (the known ones are listed).</exception>
    public static AblationType ParseAblation(string text, string option = "--ablation")
    {
        var t = text?.Trim().ToLowerInvariant();
        foreach (var type in Enum.GetValues<AblationType>())
        {
            if (type.ToCliName() == t)
            {
                return type;
            }
        }

        throw new AutoCircuitException(
            $"{option} {text}: unknown ablation type; expected one of " +
            $"{string.Join(", ", Enum.GetValues<AblationType>().Select(a => a.ToCliName()))}.");
    }
}
