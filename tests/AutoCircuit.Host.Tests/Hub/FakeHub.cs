using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AutoCircuit.Host.Tests.Hub;

/// <summary>
/// A Hugging Face hub on loopback (127.0.0.1, a free port) for the download tests: a small HTTP/1.1 server of our own
/// (one request per connection) that serves the hub's layout as huggingface_hub sees it:
/// <list type="bullet">
/// <item><c>GET /api/models/{repo}/revision/{rev}</c>: <c>{"id", "sha", "siblings": [{"rfilename", "size"}]}</c>; an unknown
/// repository is 401 with <c>X-Error-Code: RepoNotFound</c> (what the real hub answers an anonymous client), an unknown
/// revision 404 with <c>RevisionNotFound</c>, a gated repository 401 (no token) or 403 (a wrong one) with <c>GatedRepo</c>.</item>
/// <item><c>HEAD|GET /{repo}/resolve/{rev}/{file}</c>: LFS files redirect (302) to <c>/cdn/{sha256}</c> with
/// <c>X-Linked-Etag</c> and <c>X-Linked-Size</c> (on <see cref="StorageHost"/>); small files answer 200 with the git blob id as <c>ETag</c>.</item>
/// <item><c>GET /cdn/{sha256}</c>: the bytes, honouring <c>Range: bytes=N-</c> (206). Faults: drop the connection after N
/// bytes the first time (<see cref="DropOnce"/>), or send different bytes than the checksum says (<see cref="Corrupt"/>).</item>
/// </list>
/// Every request is logged (<see cref="Requests"/>), with its Range and Authorization headers.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _dropAfter = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _corrupt = new(StringComparer.Ordinal);

    public FakeHub()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    /// <summary>The hub's address (for <c>HF_ENDPOINT</c>).</summary>
    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>
    /// Where LFS downloads are redirected: the same server under another name (<c>localhost</c>), so that, as with the real
    /// hub's storage host, it is not the hub's address and must not receive the token.
    /// </summary>
    public string StorageHost => $"http://localhost:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Every request: method, path (with query), and the Range and Authorization headers.</summary>
    public ConcurrentQueue<(string Method, string Path, string? Range, string? Authorization)> Requests { get; } = new();

    /// <summary>Adds a repository whose <paramref name="revision"/> points to a new commit holding <paramref name="files"/>
    /// (file name → bytes; names ending in <c>.safetensors</c> or <c>.bin</c> are LFS files). Returns the commit hash.</summary>
    public string Add(string repo, IReadOnlyDictionary<string, byte[]> files, string revision = "main", string? gatedToken = null)
    {
        if (!_repos.TryGetValue(repo, out var r))
        {
            r = new Repo(gatedToken);
            _repos[repo] = r;
        }

        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{repo}@{revision}#{r.Commits.Count}")));
        r.Commits[commit] = files.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        r.Refs[revision] = commit;
        return commit;
    }

    /// <summary>The first download of <paramref name="sha256"/> closes the connection after <paramref name="bytes"/> bytes.</summary>
    public void DropOnce(string sha256, int bytes) => _dropAfter[sha256] = bytes;

    /// <summary>Downloads of <paramref name="sha256"/> send its bytes with one flipped.</summary>
    public void Corrupt(string sha256) => _corrupt[sha256] = true;

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string GitBlobId(byte[] bytes)
    {
        var header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {bytes.Length}\0"));
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. bytes]));
    }

    public static bool IsLfs(string file) => file.EndsWith(".safetensors", StringComparison.Ordinal) || file.EndsWith(".bin", StringComparison.Ordinal);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (method, path, headers) = await ReadRequest(stream).ConfigureAwait(false);
                headers.TryGetValue("range", out var range);
                headers.TryGetValue("authorization", out var auth);
                Requests.Enqueue((method, path, range, auth));
                await Respond(stream, client, method, path, range, auth).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // the client went away
            }
        }
    }

    private async Task Respond(NetworkStream stream, TcpClient client, string method, string path, string? range, string? auth)
    {
        var query = path.IndexOf('?', StringComparison.Ordinal);
        var bare = Uri.UnescapeDataString(query < 0 ? path : path[..query]);
        if (bare.StartsWith("/api/models/", StringComparison.Ordinal) && bare.Contains("/revision/", StringComparison.Ordinal))
        {
            var rest = bare["/api/models/".Length..];
            var at = rest.IndexOf("/revision/", StringComparison.Ordinal);
            var repo = rest[..at];
            var revision = rest[(at + "/revision/".Length)..];
            if (Denied(repo, auth) is { } denied)
            {
                await Write(stream, denied.Status, denied.Headers, []).ConfigureAwait(false);
                return;
            }

            if (!_repos[repo].TryCommit(revision, out var commit))
            {
                await Write(stream, 404, [("X-Error-Code", "RevisionNotFound")], []).ConfigureAwait(false);
                return;
            }

            var files = _repos[repo].Commits[commit];
            var json = JsonSerializer.Serialize(new
            {
                id = repo,
                sha = commit,
                siblings = files.Select(f => new { rfilename = f.Key, size = f.Value.Length }).ToArray(),
            });
            await Write(stream, 200, [("Content-Type", "application/json")], Encoding.UTF8.GetBytes(json), method == "HEAD").ConfigureAwait(false);
            return;
        }

        if (bare.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            await ServeBlob(stream, client, method, bare["/cdn/".Length..], range).ConfigureAwait(false);
            return;
        }

        var resolve = bare.IndexOf("/resolve/", StringComparison.Ordinal);
        if (resolve > 0)
        {
            var repo = bare[1..resolve];
            var rest = bare[(resolve + "/resolve/".Length)..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var revision = rest[..slash];
            var file = rest[(slash + 1)..];
            if (Denied(repo, auth) is { } denied)
            {
                await Write(stream, denied.Status, denied.Headers, []).ConfigureAwait(false);
                return;
            }

            if (!_repos[repo].TryCommit(revision, out var commit))
            {
                await Write(stream, 404, [("X-Error-Code", "RevisionNotFound")], []).ConfigureAwait(false);
                return;
            }

            if (!_repos[repo].Commits[commit].TryGetValue(file, out var bytes))
            {
                await Write(stream, 404, [("X-Error-Code", "EntryNotFound")], []).ConfigureAwait(false);
                return;
            }

            if (IsLfs(file))
            {
                var sha = Sha256(bytes);
                _blobs[sha] = bytes;
                await Write(
                    stream,
                    302,
                    [
                        ("Location", $"{StorageHost}/cdn/{sha}"), ("X-Linked-Etag", $"\"{sha}\""),
                        ("X-Linked-Size", bytes.Length.ToString(CultureInfo.InvariantCulture)), ("X-Repo-Commit", commit),
                        ("ETag", $"\"{GitBlobId(bytes)}\""),
                    ],
                    []).ConfigureAwait(false);
                return;
            }

            await Write(stream, 200, [("ETag", $"\"{GitBlobId(bytes)}\""), ("X-Repo-Commit", commit)], bytes, method == "HEAD").ConfigureAwait(false);
            return;
        }

        await Write(stream, 404, [], []).ConfigureAwait(false);
    }

    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    private async Task ServeBlob(NetworkStream stream, TcpClient client, string method, string sha, string? range)
    {
        if (!_blobs.TryGetValue(sha, out var bytes))
        {
            await Write(stream, 404, [], []).ConfigureAwait(false);
            return;
        }

        if (_corrupt.ContainsKey(sha))
        {
            bytes = (byte[])bytes.Clone();
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        var from = 0;
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = int.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
        }

        if (from >= bytes.Length && bytes.Length > 0)
        {
            await Write(stream, 416, [("Content-Range", $"bytes */{bytes.Length}")], []).ConfigureAwait(false);
            return;
        }

        var body = bytes[from..];
        var headers = from > 0
            ? new List<(string, string)> { ("Content-Range", $"bytes {from}-{bytes.Length - 1}/{bytes.Length}") }
            : [];
        if (method == "GET" && _dropAfter.TryRemove(sha, out var drop))
        {
            // Announce the whole body, send part of it, then reset the connection.
            await WriteHead(stream, from > 0 ? 206 : 200, headers, body.Length).ConfigureAwait(false);
            await stream.WriteAsync(body.AsMemory(0, Math.Min(drop, body.Length))).ConfigureAwait(false);
            await stream.FlushAsync().ConfigureAwait(false);
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
            return;
        }

        await Write(stream, from > 0 ? 206 : 200, headers, body, method == "HEAD").ConfigureAwait(false);
    }

    private (int Status, List<(string, string)> Headers)? Denied(string repo, string? auth)
    {
        if (!_repos.TryGetValue(repo, out var r))
        {
            return (401, [("X-Error-Code", "RepoNotFound")]);
        }

        if (r.GatedToken is { } token && auth != $"Bearer {token}")
        {
            return (auth is null ? 401 : 403, [("X-Error-Code", "GatedRepo")]);
        }

        return null;
    }

    private static async Task<(string Method, string Path, Dictionary<string, string> Headers)> ReadRequest(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (buffer.Count < 65536)
        {
            if (await stream.ReadAsync(one).ConfigureAwait(false) == 0)
            {
                throw new IOException("closed before the request ended");
            }

            buffer.Add(one[0]);
            if (buffer.Count >= 4 && buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n')
            {
                break;
            }
        }

        var lines = Encoding.ASCII.GetString([.. buffer]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var parts = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }

        return (parts[0], parts[1], headers);
    }

    private static async Task Write(NetworkStream stream, int status, IReadOnlyList<(string, string)> headers, byte[] body, bool headOnly = false)
    {
        await WriteHead(stream, status, headers, body.Length).ConfigureAwait(false);
        if (!headOnly)
        {
            await stream.WriteAsync(body).ConfigureAwait(false);
        }

        await stream.FlushAsync().ConfigureAwait(false);
    }

    private static async Task WriteHead(NetworkStream stream, int status, IReadOnlyList<(string, string)> headers, int length)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Reason(status)}\r\n");
        foreach (var (name, value) in headers)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString())).ConfigureAwait(false);
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Status",
    };

    private sealed class Repo(string? gatedToken)
    {
        public string? GatedToken { get; } = gatedToken;

        public Dictionary<string, string> Refs { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Dictionary<string, byte[]>> Commits { get; } = new(StringComparer.Ordinal);

        public bool TryCommit(string revision, out string commit)
        {
            if (Commits.ContainsKey(revision))
            {
                commit = revision;
                return true;
            }

            return Refs.TryGetValue(revision, out commit!);
        }
    }
}
