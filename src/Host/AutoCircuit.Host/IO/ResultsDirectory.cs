using AutoCircuit.Engine;
namespace AutoCircuit.Host.IO;

/// <summary>
/// A results directory written atomically: everything goes to a hidden temporary sibling, which is
/// moved into place by <see cref="Commit"/>. Disposing without committing deletes the temporary
/// folder, so a failed run never leaves half-written results.
/// </summary>
public sealed class ResultsDirectory : IDisposable
{
    private bool _committed;

    /// <summary>Prepares a temporary folder for <paramref name="finalPath"/>.</summary>
    /// <exception cref="AutoCircuitException">The destination exists and is not empty.</exception>
    public ResultsDirectory(string finalPath)
    {
        ArgumentNullException.ThrowIfNull(finalPath);
        FinalPath = Path.GetFullPath(finalPath);
        if (Directory.Exists(FinalPath) && Directory.EnumerateFileSystemEntries(FinalPath).Any())
        {
            throw new AutoCircuitException($"--out {finalPath}: the directory exists and is not empty; choose a new one.");
        }

        if (File.Exists(FinalPath))
        {
            throw new AutoCircuitException($"--out {finalPath}: a file of that name exists.");
        }

        var parent = Path.GetDirectoryName(FinalPath) ?? ".";
        Directory.CreateDirectory(parent);
        TempPath = Path.Combine(parent, $".{Path.GetFileName(FinalPath)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(TempPath);
    }

    /// <summary>Where the results will be.</summary>
    public string FinalPath { get; }

    /// <summary>Where files are written until <see cref="Commit"/>.</summary>
    public string TempPath { get; }

    /// <summary>A path inside the temporary folder, creating its parent folder.</summary>
    public string PathFor(string relativePath)
    {
        var full = Path.Combine(TempPath, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    /// <summary>Moves the results into place.</summary>
    public void Commit()
    {
        if (Directory.Exists(FinalPath))
        {
            Directory.Delete(FinalPath); // empty (checked in the constructor)
        }

        Directory.Move(TempPath, FinalPath);
        _committed = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_committed && Directory.Exists(TempPath))
        {
            Directory.Delete(TempPath, recursive: true);
        }
    }
}
