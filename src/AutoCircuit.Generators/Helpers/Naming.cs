using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoCircuit.Generators.Helpers;

/// <summary>Name rules shared by the parser and the emitter.</summary>
internal static class Naming
{
    /// <summary>Whether <paramref name="text"/> matches <c>^[a-z0-9]+(-[a-z0-9]+)*$</c>.</summary>
    public static bool IsKebabCase(string? text)
    {
        if (text is null || text.Length == 0 || text[0] == '-' || text[text.Length - 1] == '-')
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') || (c == '-' && text[i - 1] != '-');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The kebab-case form of a PascalCase identifier: <c>AvgDiff</c> → <c>avg-diff</c>.
    /// Must stay identical to <c>AutoCircuit.OptionParsing.ToKebabCase</c>, which formats enum values at
    /// run time (a test compares the two).
    /// </summary>
    public static string ToKebabCase(string identifier)
    {
        var sb = new StringBuilder(identifier.Length + 4);
        for (var i = 0; i < identifier.Length; i++)
        {
            var c = identifier[i];
            if (char.IsUpper(c))
            {
                var prevLowerOrDigit = i > 0 && (char.IsLower(identifier[i - 1]) || char.IsDigit(identifier[i - 1]));
                var nextLower = i + 1 < identifier.Length && char.IsLower(identifier[i + 1]) && i > 0 &&
                                char.IsUpper(identifier[i - 1]);
                if (prevLowerOrDigit || nextLower)
                {
                    sb.Append('-');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else if (c == '_')
            {
                sb.Append('-');
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// A C# identifier made from an assembly name: characters that cannot appear in an identifier become
    /// <c>_</c>, and a leading digit or a keyword gets a <c>_</c> prefix (<c>My.Plugin-1</c> → <c>My_Plugin_1</c>).
    /// </summary>
    public static string ToIdentifier(string? name)
    {
        if (name is null || name.Length == 0)
        {
            return "_";
        }

        var sb = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            sb.Append(SyntaxFacts.IsIdentifierPartCharacter(c) ? c : '_');
        }

        var result = sb.ToString();
        if (!SyntaxFacts.IsIdentifierStartCharacter(result[0]) ||
            SyntaxFacts.GetKeywordKind(result) != SyntaxKind.None ||
            SyntaxFacts.GetContextualKeywordKind(result) != SyntaxKind.None)
        {
            result = "_" + result;
        }

        return result;
    }

    /// <summary>
    /// An identifier suffix for an algorithm key. Keys are kebab-case, so replacing <c>-</c> by <c>_</c>
    /// cannot make two keys collide.
    /// </summary>
    public static string KeyToIdentifier(string key) => key.Replace('-', '_');
}
