using System.Runtime.CompilerServices;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// The host finds algorithms only through the generated registry attribute: no source file under src/Host may use
/// the reflection APIs that enumerate or create types by scanning.
/// </summary>
public sealed class NoTypeScanningTests
{
    private static readonly string[] Banned =
    [
        "GetTypes(", "GetExportedTypes(", "DefinedTypes", "ExportedTypes", "GetForwardedTypes(",
        "Activator.", "CreateInstance(", "Type.GetType(", "GetCustomAttributes(typeof(PruneAlgorithm",
    ];

    [Fact]
    public void HostSources_UseNoTypeScanningApis()
    {
        var host = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", "..", "src", "Host"));
        Assert.True(Directory.Exists(host), $"Cannot find the host sources at {host} (this test reads the source tree).");
        var files = Directory.GetFiles(host, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();

        var hits = files
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => Banned.Any(b => l.Text.Contains(b, StringComparison.Ordinal)))
            .Select(l => $"{Path.GetRelativePath(host, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.True(files.Count > 20, $"only {files.Count} host source files found under {host}");
        Assert.True(hits.Count == 0, "Type scanning in the host:\n" + string.Join("\n", hits));
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
