using AutoCircuit.Engine;

namespace AutoCircuit.Host.IO;

/// <summary>
/// A results folder that a run claims at its start and fills in durable steps.
/// </summary>
/// <remarks>
/// <para>Claim: the folder (which must not exist, or be empty) gets a lock file created with <c>O_EXCL</c>
/// (<see cref="LockFileName"/>, holding the pid, boot id and start time of the run), so a second run into the same
/// folder is refused at its start, not after computing. A lock whose run is proven dead (<see cref="RunOwner"/>) is
/// cleaned up by the next run that looks: its unfinished staging folder and lock are removed, and a folder that holds
/// nothing else is removed (when that run created it).</para>
/// <para>Files are written under <see cref="TempPath"/>, a hidden staging folder inside the results folder (same file
/// system, so moves are renames). <see cref="Publish"/> moves what is staged into place, each file by one atomic
/// rename, the job's JSON file last, so an algorithm's results are durable the moment it finishes.
/// <see cref="Commit"/> publishes the rest and releases the lock. Disposing without committing removes everything
/// unpublished; when nothing was published the results folder disappears again, so a refused or cancelled run
/// leaves nothing behind.</para>
/// </remarks>
internal sealed class ResultsDirectory : IDisposable
{
    /// <summary>The lock file a running job keeps in its results folder.</summary>
    public const string LockFileName = ".autocircuit-run.lock";

    /// <summary>The prefix of staging folders inside a results folder.</summary>
    public const string StagingPrefix = ".staging-";

    /// <summary>At most this many sibling folders are checked for dead runs' leftovers.</summary>
    private const int StaleScanLimit = 4096;

    private readonly RunOwner _owner;
    private readonly List<string> _lastFiles = [];
    private bool _committed;
    private bool _disposed;

    /// <summary>Claims <paramref name="finalPath"/> and prepares its staging folder.</summary>
    /// <param name="finalPath">The results folder (<c>--out</c>).</param>
    /// <param name="log">Notes about dead runs' leftovers that were cleaned up (stderr).</param>
    /// <exception cref="AutoCircuitException">The path is empty or a file, the folder is not empty, another live run
    /// holds it, or it cannot be created or written.</exception>
    public ResultsDirectory(string finalPath, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(finalPath);
        if (string.IsNullOrWhiteSpace(finalPath))
        {
            throw new AutoCircuitException("--out '': expected the path of a results folder.");
        }

        Given = finalPath;
        FinalPath = Path.TrimEndingDirectorySeparator(Path.GetFullPath(finalPath));
        if (File.Exists(FinalPath))
        {
            throw new AutoCircuitException($"--out {finalPath}: a file of that name exists.");
        }

        var parent = Path.GetDirectoryName(FinalPath) ?? FinalPath;
        Io(() => Directory.CreateDirectory(parent), "cannot create its parent folder");
        CleanStale(parent, log);
        var created = !Directory.Exists(FinalPath);
        if (!File.Exists(LockPath))
        {
            RefuseUnlessEmpty(); // with a lock, Claim judges: another live run, or a dead one to clean up
        }

        Io(() => Directory.CreateDirectory(FinalPath), "cannot create the folder");
        _owner = RunOwner.Current(created);
        Claim(log);
        try
        {
            RefuseUnlessEmpty(); // someone may have written between the check and the claim
            TempPath = Path.Combine(FinalPath, StagingPrefix + Guid.NewGuid().ToString("N"));
            Io(() => Directory.CreateDirectory(TempPath), "cannot write into the folder");
        }
        catch
        {
            Release();
            throw;
        }
    }

    /// <summary>Where the results are.</summary>
    public string FinalPath { get; }

    /// <summary>Where files are written until they are published (inside <see cref="FinalPath"/>, hidden).</summary>
    public string TempPath { get; } = string.Empty;

    /// <summary>Whether some results were published (they stay when the run fails later).</summary>
    public bool Published { get; private set; }

    private string Given { get; }

    private string LockPath => Path.Combine(FinalPath, LockFileName);

    /// <summary>A path inside the staging folder, creating its parent folder.</summary>
    public string PathFor(string relativePath)
    {
        var full = Path.Combine(TempPath, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    /// <summary>
    /// Moves every staged file into place, each by one atomic rename (replacing an older version);
    /// <paramref name="last"/> (relative paths, e.g. the job's JSON file that lists what is finished) go after all others.
    /// </summary>
    public void Publish(params string[] last)
    {
        ArgumentNullException.ThrowIfNull(last);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lastFiles.Clear();
        _lastFiles.AddRange(last.Select(l => Path.GetFullPath(Path.Combine(TempPath, l))));
        var files = Directory.EnumerateFiles(TempPath, "*", SearchOption.AllDirectories)
            .OrderBy(f => _lastFiles.Contains(f) ? 1 : 0)
            .ThenBy(f => f, StringComparer.Ordinal)
            .ToList();
        foreach (var file in files)
        {
            var target = Path.Combine(FinalPath, Path.GetRelativePath(TempPath, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(file, target, overwrite: true);
            Published = true;
        }
    }

    /// <summary>Publishes everything staged (<paramref name="last"/> last) and releases the folder.</summary>
    public void Commit(params string[] last)
    {
        Publish(last);
        Directory.Delete(TempPath, recursive: true);
        Release();
        _committed = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_committed)
        {
            return;
        }

        TryDelete(TempPath);
        Release();
        if (!Published && _owner.CreatedFolder && IsEmpty(FinalPath))
        {
            TryDelete(FinalPath);
        }
    }

    private void Claim(Action<string>? log)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new FileStream(LockPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                using var writer = new StreamWriter(stream);
                writer.Write(_owner.ToJson());
                return;
            }
            catch (IOException) when (File.Exists(LockPath) && attempt == 0)
            {
                var other = RunOwner.TryRead(LockPath);
                if (other is null || !other.IsProvenDead())
                {
                    throw new AutoCircuitException(
                        $"--out {Given}: another run{(other is null ? string.Empty : $" (pid {other.Pid})")} is writing into " +
                        "this folder; choose another one or wait for it to finish.");
                }

                CleanDeadRun(FinalPath, other, log, removeFolder: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AutoCircuitException($"--out {Given}: cannot write into the folder: {e.Message}", ExitCode.UsageError, e);
            }
        }
    }

    private void Release()
    {
        try
        {
            if (RunOwner.TryRead(LockPath) is { } owner && owner.Pid == _owner.Pid && owner.StartTicks == _owner.StartTicks)
            {
                File.Delete(LockPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the lock of a dead process is cleaned up by the next run
        }
    }

    /// <summary>Refuses a folder with anything in it but the lock file (which <see cref="Claim"/> judges).</summary>
    private void RefuseUnlessEmpty()
    {
        if (!Directory.Exists(FinalPath))
        {
            return;
        }

        var entries = Io(
            () => Directory.EnumerateFileSystemEntries(FinalPath).Select(e => Path.GetFileName(e)).ToList(), "cannot read the folder");
        if (entries.Any(e => e != LockFileName))
        {
            var other = entries.Contains("run.json") || entries.Any(e => e.StartsWith(StagingPrefix, StringComparison.Ordinal))
                ? " (it holds the results of an earlier run)"
                : string.Empty;
            throw new AutoCircuitException($"--out {Given}: the directory exists and is not empty{other}; choose a new one.");
        }
    }

    /// <summary>
    /// Cleans up after dead runs among <paramref name="parent"/>'s folders: their staging folders and locks go; a
    /// folder left with nothing in it goes too when the dead run had created it.
    /// </summary>
    private static void CleanStale(string parent, Action<string>? log)
    {
        IEnumerable<string> folders;
        try
        {
            folders = Directory.EnumerateDirectories(parent).Take(StaleScanLimit).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var folder in folders)
        {
            var lockPath = Path.Combine(folder, LockFileName);
            if (File.Exists(lockPath) && RunOwner.TryRead(lockPath) is { } owner && owner.IsProvenDead())
            {
                CleanDeadRun(folder, owner, log, removeFolder: true);
            }
        }
    }

    private static void CleanDeadRun(string folder, RunOwner owner, Action<string>? log, bool removeFolder)
    {
        try
        {
            foreach (var staging in Directory.EnumerateDirectories(folder, StagingPrefix + "*").ToList())
            {
                Directory.Delete(staging, recursive: true);
            }

            File.Delete(Path.Combine(folder, LockFileName));
            if (removeFolder && owner.CreatedFolder && IsEmpty(folder))
            {
                Directory.Delete(folder);
                log?.Invoke($"note: removed {folder}, left unfinished by a run that ended without cleaning up (pid {owner.Pid}).");
            }
            else
            {
                log?.Invoke(
                    $"note: cleaned up {folder} after a run that ended without finishing (pid {owner.Pid}); " +
                    "the results it had finished are kept (its run.json says status \"incomplete\").");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log?.Invoke($"warning: could not clean up {folder} after a dead run (pid {owner.Pid}): {e.Message}");
        }
    }

    private static bool IsEmpty(string folder)
    {
        try
        {
            return Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // best effort: a dead run's staging folder is cleaned up by the next run
        }
    }

    private void Io(Action action, string what) => Io(() => { action(); return 0; }, what);

    private T Io<T>(Func<T> action, string what)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new AutoCircuitException($"--out {Given}: {what}: {e.Message}", ExitCode.UsageError, e);
        }
    }
}
