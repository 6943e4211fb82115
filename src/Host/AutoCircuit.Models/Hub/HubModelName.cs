using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace AutoCircuit.Models.Hub;

/// <summary>
/// A model on the Hugging Face hub as <c>--model</c> names it: <c>gpt2</c>, <c>org/name</c>, either with an optional
/// <c>@revision</c> (a branch, a tag or a commit hash; <c>main</c> when absent).
/// </summary>
/// <param name="RepoId">The repository, e.g. <c>meta-llama/Llama-3.2-1B</c>.</param>
/// <param name="Revision">The revision as given, or <c>main</c>.</param>
public sealed partial record HubModelName(string RepoId, string Revision)
{
    /// <summary>The revision used when none is given.</summary>
    public const string DefaultRevision = "main";

    /// <summary>Whether <see cref="Revision"/> is a full commit hash (40 hex digits), which needs no <c>refs/</c> file.</summary>
    public bool IsCommit => IsCommitHash(Revision);

    /// <summary>The cache folder name of the repository: <c>models--org--name</c>, as huggingface_hub names it.</summary>
    public string CacheFolderName => "models--" + RepoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>
    /// Reads a hub name. Anything that looks like a path (rooted, starting with <c>.</c> or <c>~</c>, a backslash, more than
    /// one <c>/</c>, a file extension of a checkpoint) is not a hub name, so a mistyped path is reported as a path.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out HubModelName? name)
    {
        name = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        var at = s.IndexOf('@', StringComparison.Ordinal);
        var repo = at < 0 ? s : s[..at];
        var revision = at < 0 ? DefaultRevision : s[(at + 1)..];
        if (!RepoPattern().IsMatch(repo) || repo.Length > 96 || repo.Contains("--", StringComparison.Ordinal) ||
            repo.Contains("..", StringComparison.Ordinal) || LooksLikeFile(repo))
        {
            return false;
        }

        if (revision.Length == 0 || !RevisionPattern().IsMatch(revision) || revision.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        name = new HubModelName(repo, revision);
        return true;
    }

    /// <summary>Whether <paramref name="revision"/> is a full commit hash.</summary>
    public static bool IsCommitHash(string revision) => CommitPattern().IsMatch(revision);

    /// <inheritdoc />
    public override string ToString() => Revision == DefaultRevision ? RepoId : $"{RepoId}@{Revision}";

    private static bool LooksLikeFile(string repo)
    {
        var ext = Path.GetExtension(repo).ToUpperInvariant();
        return ext is ".BIN" or ".SAFETENSORS" or ".JSON" or ".PT" or ".PTH" or ".MODEL" or ".GGUF";
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    private static partial Regex RepoPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
}
