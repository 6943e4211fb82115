using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Sweeps.Outputs;

namespace AutoCircuit.Host.Sweeps;

/// <summary>
/// The content-addressed cell cache, safe on a shared network filesystem without locks that can dangle:
/// <list type="bullet">
/// <item><c>cells/&lt;key&gt;/</c>: finished cells. A cell is computed in <c>tmp/&lt;key&gt;.&lt;token&gt;/</c> and appears
/// by one atomic rename; its <c>manifest.json</c>, written last, lists every file with size and SHA-256, so a folder
/// damaged afterwards (a partial copy, a truncated file) is detected by <see cref="Verify"/>, moved aside and redone.</item>
/// <item><c>claims/&lt;key&gt;/owner.json</c>: a worker computing the cell (host, boot id, pid, process start time; the
/// file's mtime is a heartbeat). A claim is made by renaming a complete folder into place, which fails when one is
/// there. It only saves duplicate work: results never depend on it, because two workers that compute the same cell
/// produce the same files and only the first rename into <c>cells/</c> wins.</item>
/// <item>A claim is broken only when its owner is provably gone — on the same host, the boot id differs, or no process
/// with that pid and start time exists — or, from another host, when its heartbeat is older than
/// <see cref="StaleAfter"/>.</item>
/// </list>
/// </summary>
internal sealed class SweepCache
{
    public const string ManifestFormat = "autocircuit-sweep-manifest/1";

    public SweepCache(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string CellsDir => Path.Combine(Root, "cells");

    public string ClaimsDir => Path.Combine(Root, "claims");

    public string TmpDir => Path.Combine(Root, "tmp");

    public string TrashDir => Path.Combine(Root, "trash");

    public string SweepsDir => Path.Combine(Root, "sweeps");

    /// <summary>How old a heartbeat of another host's claim must be before the claim counts as dead (AUTOCIRCUIT_SWEEP_STALE_SECONDS).</summary>
    public static TimeSpan StaleAfter =>
        int.TryParse(Environment.GetEnvironmentVariable("AUTOCIRCUIT_SWEEP_STALE_SECONDS"), out var s) && s > 0
            ? TimeSpan.FromSeconds(s)
            : TimeSpan.FromMinutes(10);

    public string CellPath(string key) => Path.Combine(CellsDir, key);

    public void EnsureLayout()
    {
        foreach (var d in new[] { CellsDir, ClaimsDir, TmpDir, TrashDir, SweepsDir })
        {
            Directory.CreateDirectory(d);
        }

        var tag = Path.Combine(Root, "CACHEDIR.TAG");
        if (!File.Exists(tag))
        {
            WriteAtomically(tag, "Signature: 8a477f597d28d172789f06886806bc55\n# AutoCircuit sweep cache (see docs/sweeps.md).\n");
        }
    }

    /// <summary>Whether <c>cells/&lt;key&gt;</c> is complete; the reason when it exists but is not.</summary>
    public (bool Complete, string? Problem) Verify(string key)
    {
        var dir = CellPath(key);
        if (!Directory.Exists(dir))
        {
            return (false, null);
        }

        var manifestPath = Path.Combine(dir, "manifest.json");
        SweepManifestFile? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(File.ReadAllBytes(manifestPath), SweepJsonContext.Default.SweepManifestFile);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return (false, $"manifest.json unreadable ({e.GetType().Name}: {e.Message})");
        }

        if (manifest is null || manifest.Format != ManifestFormat || manifest.Key != key)
        {
            return (false, "manifest.json is not this cell's");
        }

        foreach (var f in manifest.Files)
        {
            var path = Path.Combine(dir, f.Path);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return (false, $"{f.Path} is missing");
            }

            if (info.Length != f.Bytes)
            {
                return (false, $"{f.Path} has {info.Length} bytes, the manifest says {f.Bytes}");
            }

            if (Sha256(path) != f.Sha256)
            {
                return (false, $"{f.Path} does not match its SHA-256");
            }
        }

        return (true, null);
    }

    /// <summary>Moves a damaged cell folder aside (atomically) and deletes it.</summary>
    public void Discard(string key) => Remove(CellPath(key), key);

    /// <summary>Writes <c>manifest.json</c> (last) into a finished cell folder.</summary>
    public static void WriteManifest(string cellDir, string key)
    {
        var files = Directory.EnumerateFiles(cellDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(cellDir, f).Replace('\\', '/'))
            .Where(f => f != "manifest.json")
            .Order(StringComparer.Ordinal)
            .Select(f => new SweepManifestEntry
            {
                Path = f,
                Bytes = new FileInfo(Path.Combine(cellDir, f)).Length,
                Sha256 = Sha256(Path.Combine(cellDir, f)),
            })
            .ToList();
        var manifest = new SweepManifestFile { Format = ManifestFormat, Key = key, Files = files };
        JsonOutput.Write(Path.Combine(cellDir, "manifest.json"), manifest, SweepJsonContext.Default.SweepManifestFile);
    }

    /// <summary>
    /// Moves a finished cell folder into <c>cells/&lt;key&gt;</c>. Returns <c>false</c> when a complete cell was already
    /// there (another worker won; <paramref name="finished"/> is deleted); a damaged one there is replaced.
    /// </summary>
    public bool Commit(string key, string finished)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                Directory.Move(finished, CellPath(key));
                return true;
            }
            catch (IOException) when (Directory.Exists(CellPath(key)))
            {
                if (Verify(key).Complete)
                {
                    Remove(finished, key);
                    return false;
                }

                Discard(key);
            }
        }

        throw new AutoCircuitException($"{CellPath(key)}: cannot commit the cell (the folder keeps reappearing damaged).");
    }

    /// <summary>
    /// Claims a cell for this process. Returns the claim, or <c>null</c> with the live owner's description when another
    /// live worker holds it. A dead owner's claim (and its work folder) is removed first.
    /// </summary>
    public (CellClaim? Claim, string? Holder) TryClaim(string key)
    {
        var owner = ProcessIdentity.Current();
        var final = Path.Combine(ClaimsDir, key);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var fresh = Path.Combine(ClaimsDir, $".{key}.{owner.Token}");
            Directory.CreateDirectory(fresh);
            WriteOwner(Path.Combine(fresh, "owner.json"), owner);
            try
            {
                Directory.Move(fresh, final);
                return (new CellClaim(this, key, owner), null);
            }
            catch (IOException) when (Directory.Exists(final))
            {
                Directory.Delete(fresh, recursive: true);
            }

            var held = ReadOwner(Path.Combine(final, "owner.json"));
            if (held is not null && !IsDead(held, Path.Combine(final, "owner.json")))
            {
                return (null, Describe(held));
            }

            BreakClaim(key, held);
        }

        return (null, "a claim that keeps reappearing");
    }

    /// <summary>The claim's holder and whether it is alive, or <c>null</c> when the cell is not claimed.</summary>
    public (ClaimOwner? Owner, bool Alive)? ClaimState(string key)
    {
        var path = Path.Combine(ClaimsDir, key, "owner.json");
        if (!Directory.Exists(Path.Combine(ClaimsDir, key)))
        {
            return null;
        }

        var owner = ReadOwner(path);
        return (owner, owner is not null && !IsDead(owner, path));
    }

    /// <summary>Removes work folders and half-made claims whose owners are provably dead (left by killed workers).</summary>
    public int CollectLeftovers()
    {
        var removed = 0;
        foreach (var dir in Directory.Exists(TmpDir) ? Directory.EnumerateDirectories(TmpDir) : [])
        {
            var owner = ReadOwner(Path.Combine(dir, "owner.json"));
            if (owner is null ? Age(dir) > StaleAfter : IsDead(owner, Path.Combine(dir, "owner.json")))
            {
                Remove(dir, Path.GetFileName(dir));
                removed++;
            }
        }

        foreach (var dir in Directory.Exists(ClaimsDir) ? Directory.EnumerateDirectories(ClaimsDir, ".*") : [])
        {
            var owner = ReadOwner(Path.Combine(dir, "owner.json"));
            if (owner is null ? Age(dir) > StaleAfter : IsDead(owner, Path.Combine(dir, "owner.json")))
            {
                Remove(dir, Path.GetFileName(dir));
                removed++;
            }
        }

        foreach (var dir in Directory.Exists(TrashDir) ? Directory.EnumerateDirectories(TrashDir) : [])
        {
            TryDelete(dir);
        }

        return removed;
    }

    /// <summary>A new work folder for a cell, owned by this process.</summary>
    public string NewWorkDir(string key, ClaimOwner owner)
    {
        var dir = Path.Combine(TmpDir, $"{key}.{owner.Token}");
        Directory.CreateDirectory(dir);
        WriteOwner(Path.Combine(dir, "owner.json"), owner);
        return dir;
    }

    /// <summary>Whether the process that wrote <paramref name="owner"/> is provably gone (or, on another host, silent for
    /// longer than <see cref="StaleAfter"/>).</summary>
    public static bool IsDead(ClaimOwner owner, string heartbeatFile)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var me = ProcessIdentity.Current();
        if (owner.Host == me.Host && owner.BootId.Length > 0 && me.BootId.Length > 0)
        {
            if (owner.BootId != me.BootId)
            {
                return true;
            }

            var start = ProcessIdentity.StartTicks(owner.Pid);
            return start is null || start != owner.StartTicks;
        }

        return Age(heartbeatFile) > StaleAfter;
    }

    public static string Describe(ClaimOwner owner) =>
        $"pid {owner.Pid} on {owner.Host}{(owner.Job is null ? string.Empty : $" ({owner.Job})")} since {owner.StartedUtc}";

    public static ClaimOwner? ReadOwner(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), SweepJsonContext.Default.ClaimOwner);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Writes a file by writing a temporary sibling and renaming it over the target.</summary>
    public static void WriteAtomically(string path, string text)
    {
        var tmp = $"{path}.tmp-{Guid.NewGuid():N}";
        File.WriteAllText(tmp, text, new System.Text.UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    internal void ReleaseClaim(string key, ClaimOwner owner)
    {
        var path = Path.Combine(ClaimsDir, key);
        if (ReadOwner(Path.Combine(path, "owner.json"))?.Token == owner.Token)
        {
            Remove(path, key);
        }
    }

    internal static void WriteOwner(string path, ClaimOwner owner)
    {
        var text = JsonSerializer.Serialize(owner, SweepJsonContext.Default.ClaimOwner);
        WriteAtomically(path, text);
    }

    /// <summary>Moves a dead owner's claim to the trash. If what was moved turns out to be a fresh claim made in between
    /// (a race between two workers breaking the same stale claim), it is put back; should that fail too, two workers
    /// compute the cell and the atomic commit keeps one result.</summary>
    private void BreakClaim(string key, ClaimOwner? judged)
    {
        var path = Path.Combine(ClaimsDir, key);
        var trash = Path.Combine(TrashDir, $"claim-{key}.{Guid.NewGuid():N}");
        try
        {
            Directory.Move(path, trash);
        }
        catch (Exception e) when (e is IOException or DirectoryNotFoundException)
        {
            return;
        }

        var moved = ReadOwner(Path.Combine(trash, "owner.json"));
        if (moved is not null && moved.Token != judged?.Token)
        {
            try
            {
                Directory.Move(trash, path);
                return;
            }
            catch (IOException)
            {
                // someone claimed meanwhile: their claim stands
            }
        }

        if (judged is not null)
        {
            foreach (var work in Directory.Exists(TmpDir) ? Directory.EnumerateDirectories(TmpDir, $"{key}.{judged.Token}") : [])
            {
                Remove(work, key);
            }
        }

        TryDelete(trash);
    }

    private void Remove(string path, string label)
    {
        Directory.CreateDirectory(TrashDir);
        var trash = Path.Combine(TrashDir, $"{label}.{Guid.NewGuid():N}");
        try
        {
            Directory.Move(path, trash);
        }
        catch (Exception e) when (e is IOException or DirectoryNotFoundException)
        {
            return;
        }

        TryDelete(trash);
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // left in trash/: removed by the next CollectLeftovers
        }
    }

    private static TimeSpan Age(string path)
    {
        var info = new FileInfo(path);
        var time = info.Exists ? info.LastWriteTimeUtc : Directory.Exists(path) ? Directory.GetLastWriteTimeUtc(path) : DateTime.MinValue;
        return time == DateTime.MinValue ? TimeSpan.MaxValue : DateTime.UtcNow - time;
    }
}

/// <summary>A held claim: keeps its heartbeat fresh and removes the claim when disposed.</summary>
internal sealed class CellClaim : IDisposable
{
    private readonly SweepCache _cache;
    private readonly Timer _heartbeat;

    internal CellClaim(SweepCache cache, string key, ClaimOwner owner)
    {
        _cache = cache;
        Key = key;
        Owner = owner;
        var file = Path.Combine(cache.ClaimsDir, key, "owner.json");
        _heartbeat = new Timer(_ => Touch(file), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
    }

    public string Key { get; }

    public ClaimOwner Owner { get; }

    public void Dispose()
    {
        _heartbeat.Dispose();
        _cache.ReleaseClaim(Key, Owner);
    }

    private static void Touch(string file)
    {
        try
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the claim was broken; the commit stays safe
        }
    }
}

/// <summary>Who this process is, as recorded in claims.</summary>
internal static class ProcessIdentity
{
    private static readonly Lazy<ClaimOwner> Self = new(() =>
    {
        var pid = Environment.ProcessId;
        return new ClaimOwner
        {
            Token = Guid.NewGuid().ToString("N"),
            Host = Environment.MachineName,
            BootId = BootId(),
            Pid = pid,
            StartTicks = StartTicks(pid) ?? 0,
            Job = SchedulerJob(),
            StartedUtc = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
    });

    /// <summary>This process (one token per process: a claim and its work folder share it).</summary>
    public static ClaimOwner Current() => Self.Value;

    /// <summary>The Slurm task or Kubernetes pod running this process, or <c>null</c>.</summary>
    public static string? SchedulerJob()
    {
        var array = Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID");
        var task = Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID");
        if (array is { Length: > 0 } && task is { Length: > 0 })
        {
            return $"slurm {array}_{task} (job {Environment.GetEnvironmentVariable("SLURM_JOB_ID")}, restart {Environment.GetEnvironmentVariable("SLURM_RESTART_COUNT") ?? "0"})";
        }

        if (Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX") is { Length: > 0 } index)
        {
            return $"k8s pod {Environment.GetEnvironmentVariable("HOSTNAME")} (completion index {index})";
        }

        return null;
    }

    /// <summary>The start time of a live process in clock ticks since boot, or <c>null</c> when there is none.</summary>
    public static long? StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses; the fields after the last ')' are fixed.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(rest[19], CultureInfo.InvariantCulture); // field 22 overall
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static string BootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
