using System.Globalization;
using AutoCircuit.Engine;

namespace AutoCircuit.Models.Hub;

/// <summary>
/// Resolves a model by name (<see cref="HubModelName"/>) to a snapshot folder of the Hugging Face cache that the
/// checkpoint loaders read, downloading what is missing. The rule:
/// <list type="bullet">
/// <item>A complete snapshot in the cache (config and weights) is used as it is, without asking the hub.</item>
/// <item>A cache miss (or an incomplete snapshot) is downloaded: <c>config.json</c>, the tokenizer files the repository has
/// and the weights (<c>model.safetensors</c>, else the shards of <c>model.safetensors.index.json</c>, else
/// <c>pytorch_model.bin</c> or its shards).</item>
/// <item><see cref="HubSettings.Download"/> (<c>--download</c>) asks the hub even on a cache hit, so a branch is refreshed
/// to its newest commit.</item>
/// <item><see cref="HubSettings.Offline"/> (<c>HF_HUB_OFFLINE=1</c>) never asks the hub: a miss is an error.</item>
/// </list>
/// Downloads resume (<c>blobs/{etag}.incomplete</c>, HTTP Range), are verified against the hub's checksum before they
/// enter the cache, and are locked where huggingface_hub locks them.
/// </summary>
public sealed class HubResolver
{
    /// <summary>Tokenizer files fetched when the repository has them.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer.model"];

    private readonly IProgressSink _progress;
    private readonly TextWriter _log;

    /// <summary>Creates a resolver.</summary>
    /// <param name="settings">Cache, endpoint, token, offline and download settings.</param>
    /// <param name="progress">Download progress (bytes per file); none by default.</param>
    /// <param name="log">Where what happens is said (stderr in the CLI); nowhere by default.</param>
    /// <param name="cancellation">Cancels a download (<see cref="Resolve(HubModelName)"/>).</param>
    public HubResolver(HubSettings settings, IProgressSink? progress = null, TextWriter? log = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        _progress = progress ?? NullProgressSink.Instance;
        _log = log ?? TextWriter.Null;
        Cancellation = cancellation;
    }

    /// <summary>The settings.</summary>
    public HubSettings Settings { get; }

    /// <summary>Cancels downloads of <see cref="Resolve(HubModelName)"/>.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>A resolver with this process's environment (<see cref="HubSettings.FromEnvironment()"/>).</summary>
    /// <param name="download"><c>--download</c>.</param>
    /// <param name="progress">Download progress.</param>
    /// <param name="log">Messages.</param>
    /// <param name="cancellation">Cancels downloads.</param>
    public static HubResolver FromEnvironment(
        bool download = false, IProgressSink? progress = null, TextWriter? log = null, CancellationToken cancellation = default) =>
        new(HubSettings.FromEnvironment() with { Download = download }, progress, log, cancellation);

    /// <summary>As <see cref="Resolve(HubModelName, CancellationToken)"/> with <see cref="Cancellation"/>.</summary>
    public string Resolve(HubModelName name) => Resolve(name, Cancellation);

    /// <summary>The snapshot folder of <paramref name="name"/>, downloaded first where the rule (see the class) says so.</summary>
    /// <exception cref="AutoCircuitException">Offline with a cache miss, the hub out of reach, an unknown repository or
    /// revision, a gated model without access, a corrupt or interrupted download.</exception>
    public string Resolve(HubModelName name, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(name);
        var cache = new HubCache(Settings.CacheDir);
        var commit = cache.CachedCommit(name);
        var snapshot = commit is null ? null : cache.SnapshotFolder(name, commit);
        var missing = snapshot is not null && Directory.Exists(snapshot) ? HubCache.MissingModelFiles(snapshot) : null;
        if (Settings.Offline)
        {
            if (missing is { Count: 0 })
            {
                if (Settings.Download)
                {
                    _log.WriteLine($"warning: --model {name}: HF_HUB_OFFLINE is set, so the hub is not asked for a newer commit; using {snapshot}.");
                }

                return snapshot!;
            }

            throw new AutoCircuitException(
                $"--model {name}: " + (missing is null
                    ? $"not in the Hugging Face cache ({cache.Root})"
                    : $"the cached snapshot {snapshot} lacks {string.Join(", ", missing)}") +
                ", and HF_HUB_OFFLINE forbids downloading it (unset HF_HUB_OFFLINE, or give a folder).");
        }

        if (missing is { Count: 0 } && !Settings.Download)
        {
            return snapshot!;
        }

        return Download(name, cache, token);
    }

    private string Download(HubModelName name, HubCache cache, CancellationToken token)
    {
        using var client = new HubClient(Settings);
        var revision = client.GetRevision(name, token);
        var (files, index) = Select(name, revision);
        var snapshot = cache.SnapshotFolder(name, revision.Commit);
        var pending = files.Where(f => !File.Exists(Path.Combine(snapshot, f))).ToList();
        if (pending.Count > 0)
        {
            var bytes = pending.Sum(f => revision.Sizes.GetValueOrDefault(f));
            _log.WriteLine(
                $"--model {name}: downloading {pending.Count} file(s){(bytes > 0 ? $", {Megabytes(bytes)}" : string.Empty)} of commit " +
                $"{revision.Commit[..10]} from {Settings.Endpoint} into {cache.RepoFolder(name)}");
        }

        foreach (var file in files)
        {
            Fetch(client, cache, name, revision.Commit, file, token);
        }

        if (index is not null)
        {
            IReadOnlyList<string> shards;
            try
            {
                shards = HubCache.ShardsOf(Path.Combine(snapshot, index));
            }
            catch (InvalidDataException e)
            {
                throw new AutoCircuitException($"--model {name}: {e.Message}", e);
            }

            foreach (var shard in shards)
            {
                if (!revision.Files.Contains(shard, StringComparer.Ordinal))
                {
                    throw new AutoCircuitException($"--model {name}: {index} names the shard {shard}, which the repository does not have.");
                }

                Fetch(client, cache, name, revision.Commit, shard, token);
            }
        }

        cache.WriteRef(name, revision.Commit);
        var missing = HubCache.MissingModelFiles(snapshot);
        if (missing.Count > 0)
        {
            throw new AutoCircuitException($"--model {name}: after downloading, {snapshot} still lacks {string.Join(", ", missing)}.");
        }

        return snapshot;
    }

    /// <summary>Which files to fetch first, and the shard index whose shards follow.</summary>
    private static (List<string> Files, string? Index) Select(HubModelName name, HubRevision revision)
    {
        var present = new HashSet<string>(revision.Files, StringComparer.Ordinal);
        if (!present.Contains("config.json"))
        {
            throw new AutoCircuitException(
                $"--model {name}: the repository has no config.json at commit {revision.Commit[..10]}, so it is not a model folder " +
                $"the loaders read (it has {Listing(revision.Files)}).");
        }

        var files = new List<string> { "config.json" };
        files.AddRange(TokenizerFiles.Where(present.Contains));
        foreach (var (single, index) in HubCache.WeightFiles)
        {
            if (present.Contains(single))
            {
                files.Add(single);
                return (files, null);
            }

            if (present.Contains(index))
            {
                files.Add(index);
                return (files, index);
            }
        }

        throw new AutoCircuitException(
            $"--model {name}: the repository has no weights the loaders read (model.safetensors, model.safetensors.index.json, " +
            $"pytorch_model.bin) at commit {revision.Commit[..10]} (it has {Listing(revision.Files)}).");
    }

    private void Fetch(HubClient client, HubCache cache, HubModelName name, string commit, string file, CancellationToken token)
    {
        if (File.Exists(Path.Combine(cache.SnapshotFolder(name, commit), file)))
        {
            return; // linked, and the blob is there (File.Exists follows the link)
        }

        var info = client.Head(name, commit, file, token);
        var blob = cache.BlobPath(name, info.Etag);
        if (!File.Exists(blob))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            using var held = Lock(cache.LockPath(name, info.Etag), file, token);
            if (!File.Exists(blob))
            {
                var incomplete = blob + ".incomplete";
                using (var task = _progress.Start($"{name}: {file}", info.Size ?? 0))
                {
                    long reported = 0;
                    client.Download(
                        info,
                        incomplete,
                        have =>
                        {
                            task.Advance(have - reported);
                            reported = have;
                        },
                        message => _log.WriteLine($"--model {name}: {message}"),
                        token);
                }

                Verify(name, info, incomplete);
                File.Move(incomplete, blob);
            }
        }

        cache.Link(name, commit, file, info.Etag);
    }

    /// <summary>Checks the downloaded bytes against the hub's ETag; a mismatch deletes them and fails.</summary>
    private void Verify(HubModelName name, HubFileInfo info, string incomplete)
    {
        var length = new FileInfo(incomplete).Length;
        var actual = HubChecksum.Compute(incomplete, info.Etag);
        if (actual is null)
        {
            _log.WriteLine($"warning: --model {name}: {info.File} cannot be checked (ETag '{info.Etag}' is neither a sha256 nor a git blob id).");
        }

        if ((actual is not null && !string.Equals(actual, info.Etag, StringComparison.Ordinal)) || (info.Size is long size && size != length))
        {
            File.Delete(incomplete);
            var algorithm = HubChecksum.AlgorithmOf(info.Etag) ?? "checksum";
            throw new AutoCircuitException(
                $"--model {name}: the download of {info.File} is corrupt: the hub's {algorithm} is {info.Etag}, the received " +
                $"{length} bytes have {actual ?? "(not computed)"}" + (info.Size is long s && s != length ? $" (expected {s} bytes)" : string.Empty) +
                "; it was not placed in the cache. Run again to download it anew.");
        }
    }

    /// <summary>Holds the blob's lock file (advisory, like huggingface_hub's filelock), waiting while another process holds it.</summary>
    private FileStream Lock(string path, string file, CancellationToken token)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = 0;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (!token.IsCancellationRequested)
            {
                if (waited++ % 150 == 0)
                {
                    _log.WriteLine($"waiting for another download of {file} to finish ({path} is locked)");
                }

                token.WaitHandle.WaitOne(200);
            }
        }
    }

    private static string Megabytes(long bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.#} MiB");

    private static string Listing(IReadOnlyList<string> files) =>
        files.Count == 0 ? "no files" : string.Join(", ", files.Take(8)) + (files.Count > 8 ? $", … ({files.Count} files)" : string.Empty);
}
