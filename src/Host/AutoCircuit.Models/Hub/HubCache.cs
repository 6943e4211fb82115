using System.Text.Json;

namespace AutoCircuit.Models.Hub;

/// <summary>
/// The Hugging Face cache layout, as huggingface_hub writes it, so that Python tools and we share one cache:
/// <code>
/// {cache}/models--org--name/refs/{revision}             the commit hash a branch or tag pointed to
/// {cache}/models--org--name/blobs/{etag}                 file contents, named by the hub's ETag (sha256 for LFS files,
///                                                        the git blob sha1 for small ones)
/// {cache}/models--org--name/snapshots/{commit}/{file}    relative symlinks ../../blobs/{etag}
/// {cache}/.locks/models--org--name/{etag}.lock           held while a blob is downloaded
/// </code>
/// A blob being downloaded is <c>blobs/{etag}.incomplete</c> until its checksum is verified.
/// </summary>
internal sealed class HubCache
{
    /// <summary>Creates a view of the cache at <paramref name="root"/>.</summary>
    public HubCache(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The cache folder.</summary>
    public string Root { get; }

    /// <summary>The repository's folder.</summary>
    public string RepoFolder(HubModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Path.Combine(Root, name.CacheFolderName);
    }

    /// <summary>A snapshot folder.</summary>
    public string SnapshotFolder(HubModelName name, string commit) => Path.Combine(RepoFolder(name), "snapshots", commit);

    /// <summary>The commit a snapshot folder (<see cref="SnapshotFolder"/>) holds: its name.</summary>
    public static string CommitOfSnapshot(string snapshotFolder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(snapshotFolder));

    /// <summary>A blob.</summary>
    public string BlobPath(HubModelName name, string etag) => Path.Combine(RepoFolder(name), "blobs", etag);

    /// <summary>The lock file of a blob (the place huggingface_hub locks it, so the two never download it at once).</summary>
    public string LockPath(HubModelName name, string etag)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Path.Combine(Root, ".locks", name.CacheFolderName, etag + ".lock");
    }

    /// <summary>The commit a revision resolves to in the cache: the revision itself when it is a commit hash, else the
    /// content of <c>refs/{revision}</c>; <c>null</c> when the cache does not know it.</summary>
    public string? CachedCommit(HubModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.IsCommit)
        {
            return name.Revision;
        }

        var refFile = Path.Combine(RepoFolder(name), "refs", name.Revision);
        if (!File.Exists(refFile))
        {
            return null;
        }

        var commit = File.ReadAllText(refFile).Trim();
        return HubModelName.IsCommitHash(commit) ? commit : null;
    }

    /// <summary>Records that <paramref name="name"/>'s revision is <paramref name="commit"/> (nothing to record for a commit hash).</summary>
    public void WriteRef(HubModelName name, string commit)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.IsCommit)
        {
            return;
        }

        var refFile = Path.Combine(RepoFolder(name), "refs", name.Revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refFile)!);
        var temp = refFile + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temp, commit); // no newline, as huggingface_hub writes it
        File.Move(temp, refFile, overwrite: true);
    }

    /// <summary>
    /// Puts <paramref name="file"/> into the snapshot as a relative symlink to its blob (a copy where the file system has no
    /// symlinks, as huggingface_hub does on such systems). Replaces a link that points elsewhere.
    /// </summary>
    public void Link(HubModelName name, string commit, string file, string etag)
    {
        var target = BlobPath(name, etag);
        var link = Path.Combine(SnapshotFolder(name, commit), file);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        if (File.Exists(link) || new FileInfo(link).LinkTarget is not null)
        {
            File.Delete(link);
        }

        var relative = Path.GetRelativePath(Path.GetDirectoryName(link)!, target);
        try
        {
            File.CreateSymbolicLink(link, relative);
        }
        catch (IOException)
        {
            File.Copy(target, link);
        }
        catch (UnauthorizedAccessException)
        {
            File.Copy(target, link);
        }
    }

    /// <summary>
    /// The files a loader needs that a snapshot folder lacks: <c>config.json</c> and the weights (<c>model.safetensors</c>, or
    /// <c>model.safetensors.index.json</c> and every shard it lists, or the same for <c>pytorch_model.bin</c>). Empty when
    /// the snapshot is usable. Tokenizer files are optional (not every model has them).
    /// </summary>
    public static IReadOnlyList<string> MissingModelFiles(string snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var missing = new List<string>();
        if (!File.Exists(Path.Combine(snapshot, "config.json")))
        {
            missing.Add("config.json");
        }

        foreach (var (single, index) in WeightFiles)
        {
            if (File.Exists(Path.Combine(snapshot, single)))
            {
                return missing;
            }

            var indexPath = Path.Combine(snapshot, index);
            if (File.Exists(indexPath))
            {
                missing.AddRange(ShardsOf(indexPath).Where(s => !File.Exists(Path.Combine(snapshot, s))));
                return missing;
            }
        }

        missing.Add(WeightFiles[0].Single);
        return missing;
    }

    /// <summary>The weight files loaders read, in order of preference: one file, or an index of shards.</summary>
    internal static IReadOnlyList<(string Single, string Index)> WeightFiles { get; } =
    [
        ("model.safetensors", "model.safetensors.index.json"),
        ("pytorch_model.bin", "pytorch_model.bin.index.json"),
    ];

    /// <summary>The distinct shard files of an index (<c>weight_map</c> values), in first-use order.</summary>
    /// <exception cref="InvalidDataException">Not an index file.</exception>
    internal static IReadOnlyList<string> ShardsOf(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{indexPath}: no \"weight_map\" object.");
            }

            var shards = new List<string>();
            foreach (var p in map.EnumerateObject())
            {
                var shard = p.Value.GetString();
                if (shard is null || shard.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(shard))
                {
                    throw new InvalidDataException($"{indexPath}: weight_map[\"{p.Name}\"] is not a file name of the repository.");
                }

                if (!shards.Contains(shard, StringComparer.Ordinal))
                {
                    shards.Add(shard);
                }
            }

            return shards;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{indexPath}: not valid JSON ({e.Message}).", e);
        }
    }
}
