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
    private const int MaxChangedLines = 80;

    /// <summary>Compares <paramref name="text"/> with the approved snapshot <paramref name="name"/>.</summary>
    public static void Verify(
        string text,
        string name,
        string extension = ".cs",
        [CallerFilePath] string sourceFile = "")
        => Verify(text, name, extension, null, sourceFile);

    /// <summary>
    /// As <see cref="Verify(string, string, string, string)"/>, but the texts also match when they differ only in numbers
    /// that agree within <paramref name="tolerance"/>: <c>|a - b| &lt;= Absolute + Relative * max(|a|, |b|)</c>. Every other
    /// character must be equal. For snapshots of floating-point results, whose last digits change with the summation
    /// order of the machine's BLAS build; the tolerance is stated by the caller.
    /// </summary>
    public static void Verify(
        string text,
        string name,
        string extension,
        (double Relative, double Absolute)? tolerance,
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
        if (string.Equals(verified, received, StringComparison.Ordinal)
            || (tolerance is { } tol && NumbersWithin(verified, received, tol.Relative, tol.Absolute)))
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
    /// A unified diff (longest common subsequence of lines, 3 lines of context, one hunk per changed region), so that a
    /// line that moved shows as one <c>-</c> line where it was and one <c>+</c> line where it went. Long diffs are cut
    /// after <see cref="MaxChangedLines"/> changed lines.
    /// </summary>
    public static string Diff(string expected, string actual, string expectedName = "verified", string actualName = "received")
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var a = Normalize(expected).Split('\n');
        var b = Normalize(actual).Split('\n');
        var ops = Script(a, b);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"--- {expectedName}\n+++ {actualName}\n");
        var changed = 0;
        var i = 0;
        while (i < ops.Count)
        {
            if (ops[i].Op == ' ')
            {
                i++;
                continue;
            }

            // A hunk: from ContextLines before this change to ContextLines after the last change that follows within
            // 2 * ContextLines unchanged lines.
            var start = Math.Max(0, i - ContextLines);
            var end = i;
            while (true)
            {
                while (end < ops.Count && ops[end].Op != ' ')
                {
                    end++;
                }

                var next = end;
                while (next < ops.Count && ops[next].Op == ' ')
                {
                    next++;
                }

                if (next < ops.Count && next - end <= 2 * ContextLines)
                {
                    end = next;
                    continue;
                }

                end = Math.Min(ops.Count, end + ContextLines);
                break;
            }

            var aLen = 0;
            var bLen = 0;
            for (var k = start; k < end; k++)
            {
                aLen += ops[k].Op != '+' ? 1 : 0;
                bLen += ops[k].Op != '-' ? 1 : 0;
            }

            sb.Append(CultureInfo.InvariantCulture, $"@@ -{ops[start].A + 1},{aLen} +{ops[start].B + 1},{bLen} @@\n");
            for (var k = start; k < end; k++)
            {
                if (ops[k].Op != ' ' && ++changed > MaxChangedLines)
                {
                    var rest = ops.Skip(k).Count(o => o.Op != ' ');
                    sb.Append(CultureInfo.InvariantCulture, $"... ({rest} more changed lines)\n");
                    return sb.ToString();
                }

                sb.Append(ops[k].Op).Append(ops[k].Op == '+' ? b[ops[k].B] : a[ops[k].A]).Append('\n');
            }

            i = end;
        }

        return sb.ToString();
    }

    /// <summary>The edit script of two line arrays: (op, index in a, index in b), op one of ' ', '-', '+'.</summary>
    private static List<(char Op, int A, int B)> Script(string[] a, string[] b)
    {
        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[a.Length - 1 - suffix] == b[b.Length - 1 - suffix])
        {
            suffix++;
        }

        var n = a.Length - prefix - suffix;
        var m = b.Length - prefix - suffix;
        var ops = new List<(char, int, int)>(a.Length + b.Length);
        for (var k = 0; k < prefix; k++)
        {
            ops.Add((' ', k, k));
        }

        if ((long)n * m > 25_000_000)
        {
            // Too large for the table: everything in between is one change.
            for (var k = 0; k < n; k++)
            {
                ops.Add(('-', prefix + k, prefix));
            }

            for (var k = 0; k < m; k++)
            {
                ops.Add(('+', prefix + n, prefix + k));
            }
        }
        else
        {
            // lcs[x, y]: length of the longest common subsequence of a[prefix + x..] and b[prefix + y..].
            var lcs = new int[n + 1, m + 1];
            for (var x = n - 1; x >= 0; x--)
            {
                for (var y = m - 1; y >= 0; y--)
                {
                    lcs[x, y] = a[prefix + x] == b[prefix + y] ? lcs[x + 1, y + 1] + 1 : Math.Max(lcs[x + 1, y], lcs[x, y + 1]);
                }
            }

            int p = 0, q = 0;
            while (p < n || q < m)
            {
                if (p < n && q < m && a[prefix + p] == b[prefix + q])
                {
                    ops.Add((' ', prefix + p++, prefix + q++));
                }
                else if (p < n && (q == m || lcs[p + 1, q] >= lcs[p, q + 1]))
                {
                    ops.Add(('-', prefix + p++, prefix + q));
                }
                else
                {
                    ops.Add(('+', prefix + p, prefix + q++));
                }
            }
        }

        for (var k = 0; k < suffix; k++)
        {
            ops.Add((' ', a.Length - suffix + k, b.Length - suffix + k));
        }

        return ops;
    }

    /// <summary>Whether two texts are equal except for numbers that agree within the tolerance.</summary>
    public static bool NumbersWithin(string expected, string actual, double relative, double absolute)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var a = NumberPattern.Split(Normalize(expected));
        var b = NumberPattern.Split(Normalize(actual));
        if (a.Length != b.Length)
        {
            return false;
        }

        // Split with a capturing group alternates text (even indices) and numbers (odd indices).
        for (var i = 0; i < a.Length; i++)
        {
            if (i % 2 == 0 || a[i] == b[i])
            {
                if (a[i] != b[i])
                {
                    return false;
                }

                continue;
            }

            var x = double.Parse(a[i], NumberStyles.Float, CultureInfo.InvariantCulture);
            var y = double.Parse(b[i], NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!(Math.Abs(x - y) <= absolute + relative * Math.Max(Math.Abs(x), Math.Abs(y))))
            {
                return false;
            }
        }

        return true;
    }

    private static readonly System.Text.RegularExpressions.Regex NumberPattern = new(
        @"(?<![\w.])(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w.])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static void WriteReceived(string directory, string path, string text)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
}
