using System.ComponentModel;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>manifest.json</c>: the last file written into a cell; a cell folder is complete when every file it lists has
/// the size and hash it records.</summary>
[Description("manifest.json: written last into a cached cell; the cell is complete when every file listed has its size and SHA-256.")]
internal sealed record SweepManifestFile
{
    [Description("Always 'autocircuit-sweep-manifest/1'.")]
    public required string Format { get; init; }

    [Description("The cell's key.")]
    public required string Key { get; init; }

    [Description("Every other file of the cell folder, sorted by path.")]
    public required IReadOnlyList<SweepManifestEntry> Files { get; init; }
}

/// <summary>One file of a cell.</summary>
[Description("One file of a cell.")]
internal sealed record SweepManifestEntry
{
    [Description("Path relative to the cell folder, '/'-separated.")]
    public required string Path { get; init; }

    [Description("Size in bytes.")]
    public required long Bytes { get; init; }

    [Description("SHA-256 of the content, hex.")]
    public required string Sha256 { get; init; }
}
