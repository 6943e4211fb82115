using System.Text.RegularExpressions;
using Xunit;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>Every relative link of README.md and docs/*.md points to a file that exists and, with <c>#anchor</c>, to a heading in it.</summary>
public sealed partial class DocLinkTests
{
    /// <summary>
    /// Pages that changes in flight add (the engine's page, the output schemas): a link to one of them may point
    /// nowhere until it lands; once it exists it is checked like any other. Empty this list when they are merged.
    /// </summary>
    private static readonly string[] Pending = ["docs/engine.md", "docs/schemas/"];

    [Fact]
    public void Links_PointToFilesAndHeadingsThatExist()
    {
        var broken = new List<string>();
        var links = 0;

        foreach (var page in DocPages.All)
        {
            var lines = File.ReadAllLines(Repository.File(page.Split('/')));
            var fenced = false;
            for (var i = 0; i < lines.Length; i++)
            {
                fenced ^= lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal);
                if (fenced)
                {
                    continue;
                }

                foreach (Match m in Link().Matches(lines[i]))
                {
                    var target = m.Groups[1].Value;
                    if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    links++;
                    var hash = target.IndexOf('#', StringComparison.Ordinal);
                    var path = hash < 0 ? target : target[..hash];
                    var anchor = hash < 0 ? null : target[(hash + 1)..];
                    var resolved = path.Length == 0
                        ? page
                        : Path.GetRelativePath(Repository.Root, Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Repository.File(page.Split('/')))!, path)))
                            .Replace(Path.DirectorySeparatorChar, '/').TrimEnd('/') + (path.EndsWith('/') ? "/" : string.Empty);
                    var full = Repository.File(resolved.TrimEnd('/').Split('/'));
                    if (!File.Exists(full) && !Directory.Exists(full))
                    {
                        if (!Pending.Contains(resolved))
                        {
                            broken.Add($"{page}:{i + 1}: {target} ({resolved} does not exist)");
                        }

                        continue;
                    }

                    if (anchor is not null && (!File.Exists(full) || !Anchors(full).Contains(anchor)))
                    {
                        broken.Add($"{page}:{i + 1}: {target} (no heading '#{anchor}' in {resolved})");
                    }
                }
            }
        }

        Assert.True(links > 50, $"only {links} relative links found");
        Assert.True(broken.Count == 0, "Broken documentation links:\n" + string.Join("\n", broken));
    }

    [Theory]
    [InlineData("The embedded default model: `toy-induction`", "the-embedded-default-model-toy-induction")]
    [InlineData("2026-11-27: one NVIDIA H200", "2026-11-27-one-nvidia-h200")]
    [InlineData("`run`", "run")]
    public void Anchor_IsGitHubsSlugOfTheHeading(string heading, string anchor) => Assert.Equal(anchor, Slug(heading));

    /// <summary>GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var fenced = false;
        foreach (var line in File.ReadAllLines(file))
        {
            fenced ^= line.TrimStart().StartsWith("```", StringComparison.Ordinal);
            if (!fenced && Heading().Match(line) is { Success: true } h)
            {
                anchors.Add(Slug(h.Groups[1].Value));
            }
        }

        return anchors;
    }

    private static string Slug(string heading) =>
        new string(heading.Trim().ToLowerInvariant().Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-');

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*$")]
    private static partial Regex Heading();
}
