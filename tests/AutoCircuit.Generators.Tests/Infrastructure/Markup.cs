using Microsoft.CodeAnalysis.Text;

namespace AutoCircuit.Generators.Tests.Infrastructure;

/// <summary>Roslyn-test-style markup: <c>[|text|]</c> marks the one span a diagnostic must cover.</summary>
internal static class Markup
{
    private const string Open = "[|";
    private const string Close = "|]";

    public static (string Source, TextSpan Span) Parse(string markup)
    {
        var start = markup.IndexOf(Open, StringComparison.Ordinal);
        var end = markup.IndexOf(Close, StringComparison.Ordinal);
        if (start < 0 || end < start || markup.IndexOf(Open, start + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException("Markup must contain exactly one [|...|] span.", nameof(markup));
        }

        var source = markup.Remove(end, Close.Length).Remove(start, Open.Length);
        return (source, TextSpan.FromBounds(start, end - Open.Length));
    }
}
