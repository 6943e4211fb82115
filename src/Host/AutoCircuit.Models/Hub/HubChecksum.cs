using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AutoCircuit.Models.Hub;

/// <summary>
/// What a hub ETag promises about a file's bytes. For files stored with Git LFS (weights) the hub's
/// <c>X-Linked-Etag</c> is the sha256 of the contents; for small files kept in git (config, tokenizer) the
/// <c>ETag</c> is the git blob id, <c>sha1("blob {length}\0" + contents)</c>. Both are checked; any other ETag
/// (a proxy's) cannot be checked.
/// </summary>
internal static class HubChecksum
{
    /// <summary>The algorithm an ETag names: <c>sha256</c>, <c>git-sha1</c>, or <c>null</c> when it is neither.</summary>
    public static string? AlgorithmOf(string etag)
    {
        ArgumentNullException.ThrowIfNull(etag);
        return IsHex(etag, 64) ? "sha256" : IsHex(etag, 40) ? "git-sha1" : null;
    }

    /// <summary>The file's hash by the algorithm <paramref name="etag"/> names, or <c>null</c> when it names none.</summary>
    public static string? Compute(string path, string etag)
    {
        ArgumentNullException.ThrowIfNull(path);
        var algorithm = AlgorithmOf(etag);
        if (algorithm is null)
        {
            return null;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (algorithm == "sha256")
        {
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {stream.Length}\0")));
        var buffer = new byte[1 << 20];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            sha1.AppendData(buffer, 0, read);
        }

        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    private static bool IsHex(string s, int length) =>
        s.Length == length && s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
