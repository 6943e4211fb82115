using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Xunit;

namespace AutoCircuit.Testing;

/// <summary>
/// Approved-file snapshots: <c>_snapshots/&lt;name&gt;.verified&lt;ext&gt;</c> beside the calling test file is the
/// approved text. A mismatch or a missing file writes <c>&lt;name&gt;.received&lt;ext&gt;</c> next to it and fails
/// with a diff; it never passes silently. Set <c>AUTOCIRCUIT_ACCEPT_SNAPSHOTS=1</c> to (over)write the verified file
/// instead, then review it like code. Line endings are normalised to <c>\n</c>.
/// </summary>
public static class ApprovedFile
{
    /// <summary>The environment variable that makes <see cref="Verify"/> accept the received text.</summary>
    public const string AcceptVariable = "AUTOCIRCUIT_ACCEPT_SNAPSHOTS";

    private const int ContextLines = 3;
    private const int MaxChangedLines = 20;

    /// <summary>Compares <paramref name="text"/> with the approved snapshot <paramref name="name"/>.</summary>
    public static void Verify(
        string text,
        string name,
        string extension = ".cs",
        [CallerFilePath] string sourceFile = "")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var directory = Path.Combine(Path.GetDirectoryName(sourceFile) ?? string.Empty, "_snapshots");
        if (!Directory.Exists(Path.GetDirectoryName(directory)))
        {
            Assert.Fail(
                $"Cannot find the test's source directory from '{sourceFile}'. The snapshot helper needs the real " +
                "source path ([CallerFilePath]); builds with remapped paths (ContinuousIntegrationBuild/PathMap) cannot verify snapshots.");
        }

        var verifiedPath = Path.Combine(directory, name + ".verified" + extension);
        var receivedPath = Path.Combine(directory, name + ".received" + extension);
        var received = Normalize(text);

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(verifiedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Delete(receivedPath);
            return;
        }

        if (!File.Exists(verifiedPath))
        {
            WriteReceived(directory, receivedPath, received);
            Assert.Fail(
                $"Snapshot '{name}' has no approved file {verifiedPath}. Wrote {receivedPath}; review it and rename it " +
                $"to .verified{extension}, or run with {AcceptVariable}=1.");
        }

        var verified = Normalize(File.ReadAllText(verifiedPath));
        if (string.Equals(verified, received, StringComparison.Ordinal))
        {
            File.Delete(receivedPath);
            return;
        }

        WriteReceived(directory, receivedPath, received);
        Assert.Fail(
            $"Snapshot '{name}' differs from {verifiedPath} (received text written to {receivedPath}; accept with " +
            $"{AcceptVariable}=1):\n{Diff(verified, received, verifiedPath, receivedPath)}");
    }

    /// <summary>
    /// One unified-diff hunk covering everything between the common prefix and the common suffix of the two
    /// texts, with a few lines of context and long runs of changed lines cut short.
    /// </summary>
    public static string Diff(string expected, string actual, string expectedName = "verified", string actualName = "received")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var a = Normalize(expected).Split('\n');
        var b = Normalize(actual).Split('\n');
        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix &&
               a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        var start = Math.Max(0, prefix - ContextLines);
        var removedEnd = a.Length - suffix;
        var addedEnd = b.Length - suffix;
        var contextAfter = Math.Min(ContextLines, suffix);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"--- {expectedName}\n+++ {actualName}\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"@@ -{start + 1},{removedEnd + contextAfter - start} +{start + 1},{addedEnd + contextAfter - start} @@\n");
        for (var i = start; i < prefix; i++)
        {
            sb.Append(' ').Append(a[i]).Append('\n');
        }

        AppendChanged(sb, '-', a, prefix, removedEnd);
        AppendChanged(sb, '+', b, prefix, addedEnd);
        for (var i = removedEnd; i < removedEnd + contextAfter; i++)
        {
            sb.Append(' ').Append(a[i]).Append('\n');
        }

        return sb.ToString();
    }

    private static void AppendChanged(StringBuilder sb, char marker, string[] lines, int from, int to)
    {
        for (var i = from; i < to && i < from + MaxChangedLines; i++)
        {
            sb.Append(marker).Append(lines[i]).Append('\n');
        }

        if (to - from > MaxChangedLines)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{marker}... ({to - from - MaxChangedLines} more lines)\n");
        }
    }

    private static void WriteReceived(string directory, string path, string text)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
}
