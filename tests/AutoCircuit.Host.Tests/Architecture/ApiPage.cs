using System.Text.RegularExpressions;

namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>One type docs/api.md lists: <c>- `Name`: what it is for</c> under <c>## Assembly</c> and <c>### Namespace</c>.</summary>
/// <param name="Assembly">The project whose section lists it (<c>AutoCircuit.Engine</c>).</param>
/// <param name="Namespace">The namespace heading above it.</param>
/// <param name="Name">The type's name inside its namespace (<c>HookNames.Micro</c> for a nested type).</param>
/// <param name="Line">The line of the page, from 1.</param>
internal sealed record ApiEntry(string Assembly, string Namespace, string Name, int Line)
{
    /// <summary>Namespace and name joined by a dot.</summary>
    public string FullName => $"{Namespace}.{Name}";
}

/// <summary>
/// Reads docs/api.md: under a <c>## </c> heading that names one of <paramref name="assemblies"/>, each <c>### </c>
/// heading is a namespace and each <c>- `Name`: sentence</c> line one public type. Sections with other headings (the
/// walk-through) are prose and not read.
/// </summary>
internal static partial class ApiPage
{
    [GeneratedRegex(@"^- `(?<name>[^`]+)`: (?<text>\S.*)$")]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"^- `")]
    private static partial Regex EntryStart();

    /// <summary>The entries of the page's assembly sections, the assemblies that have a section, and what is malformed.</summary>
    public static (IReadOnlyList<ApiEntry> Entries, IReadOnlySet<string> Sections, IReadOnlyList<string> Errors) Parse(
        IReadOnlyList<string> lines, IReadOnlyCollection<string> assemblies)
    {
        var entries = new List<ApiEntry>();
        var sections = new HashSet<string>(StringComparer.Ordinal);
        var errors = new List<string>();
        string? assembly = null;
        string? ns = null;
        var inCode = false;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }

            if (inCode)
            {
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                var heading = line[3..].Trim();
                assembly = assemblies.Contains(heading) ? heading : null;
                ns = null;
                if (assembly is not null && !sections.Add(assembly))
                {
                    errors.Add($"line {i + 1}: a second section for {assembly}");
                }

                continue;
            }

            if (assembly is null)
            {
                continue;
            }

            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                ns = line[4..].Trim();
                continue;
            }

            if (!EntryStart().IsMatch(line))
            {
                continue;
            }

            var match = EntryLine().Match(line);
            if (!match.Success)
            {
                errors.Add($"line {i + 1}: write an entry as - `Name`: what it is for — got: {line}");
            }
            else if (ns is null)
            {
                errors.Add($"line {i + 1}: `{match.Groups["name"].Value}` is not under a ### namespace heading of ## {assembly}");
            }
            else
            {
                entries.Add(new ApiEntry(assembly, ns, match.Groups["name"].Value, i + 1));
            }
        }

        errors.AddRange(entries.GroupBy(e => e.FullName, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} is listed {g.Count()} times (lines {string.Join(", ", g.Select(e => e.Line))})"));
        return (entries, sections, errors);
    }

    /// <summary>
    /// A public type as the page writes it: its namespace, and its name inside it — the declaring types and the type
    /// joined by dots, generic parameters in angle brackets (<c>HookNames.Micro</c>, <c>Box&lt;T&gt;</c>).
    /// </summary>
    public static (string Namespace, string Name) NameOf(Type type)
    {
        var parts = new List<string>();
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            var tick = t.Name.IndexOf('`', StringComparison.Ordinal);
            if (tick < 0)
            {
                parts.Insert(0, t.Name);
                continue;
            }

            var arity = int.Parse(t.Name.AsSpan(tick + 1), System.Globalization.CultureInfo.InvariantCulture);
            var own = t.GetGenericArguments()[^arity..].Select(a => a.Name);
            parts.Insert(0, $"{t.Name[..tick]}<{string.Join(", ", own)}>");
        }

        return (type.Namespace ?? string.Empty, string.Join(".", parts));
    }

    /// <summary>
    /// What differs between an assembly's public types and the page's entries for it: a message per public type the
    /// page does not list (document it or make it internal) and per listed type that is not public.
    /// </summary>
    public static IReadOnlyList<string> Differences(
        string assembly, IReadOnlyCollection<(string Namespace, string Name)> publicTypes, IReadOnlyCollection<ApiEntry> documented)
    {
        var listed = documented.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        var actual = publicTypes.Select(t => $"{t.Namespace}.{t.Name}").ToHashSet(StringComparer.Ordinal);
        var messages = new List<string>();
        foreach (var (ns, name) in publicTypes.Where(t => !listed.Contains($"{t.Namespace}.{t.Name}")).OrderBy(t => $"{t.Namespace}.{t.Name}", StringComparer.Ordinal))
        {
            messages.Add(
                $"{assembly}: {ns}.{name} is public but docs/api.md does not list it. Either document it there, under " +
                $"'## {assembly}' / '### {ns}', as: - `{name}`: what it is for — or make it internal (the host projects' " +
                "tests, the tool and the AutoCircuit library see internals through InternalsVisibleTo).");
        }

        foreach (var entry in documented.Where(e => !actual.Contains(e.FullName)).OrderBy(e => e.Line))
        {
            messages.Add(
                $"docs/api.md line {entry.Line} lists {entry.FullName} under '## {assembly}', but {assembly} has no public " +
                "type of that name: make it public, or take the line out of the page (was it renamed, moved or made internal?).");
        }

        return messages;
    }
}
