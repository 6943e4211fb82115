namespace AutoCircuit.Models.Checkpoints;

/// <summary>Small path helpers.</summary>
internal static class Paths
{
    /// <summary>The last name of <paramref name="path"/>, a file or a folder (with or without a trailing separator).</summary>
    public static string LastName(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
}
