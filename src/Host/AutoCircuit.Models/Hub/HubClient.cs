using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using AutoCircuit.Engine;

namespace AutoCircuit.Models.Hub;

/// <summary>A revision of a repository as the hub's API describes it.</summary>
/// <param name="Commit">The commit hash the revision points to.</param>
/// <param name="Files">Every file of the repository at that commit (<c>siblings[].rfilename</c>).</param>
/// <param name="Sizes">File sizes in bytes, where the API gave them.</param>
internal sealed record HubRevision(string Commit, IReadOnlyList<string> Files, IReadOnlyDictionary<string, long> Sizes);

/// <summary>What the hub says about one file before it is downloaded (the answer to <c>HEAD …/resolve/…</c>).</summary>
/// <param name="File">The file's path in the repository.</param>
/// <param name="Etag">The blob name and checksum: <c>X-Linked-Etag</c> (LFS, sha256) or <c>ETag</c> (git blob sha1).</param>
/// <param name="Size">Its length (<c>X-Linked-Size</c> or <c>Content-Length</c>), when given.</param>
/// <param name="Location">Where its bytes are (the resolve URL, or the storage URL it redirects to).</param>
internal sealed record HubFileInfo(string File, string Etag, long? Size, Uri Location);

/// <summary>
/// The hub's HTTP interface, as huggingface_hub uses it: <c>GET {endpoint}/api/models/{repo}/revision/{revision}</c> for
/// the commit and the file list, <c>HEAD {endpoint}/{repo}/resolve/{commit}/{file}</c> (redirects not followed) for the
/// ETag, size and storage location, and <c>GET</c> of that location with <c>Range</c> to resume. The token goes only to
/// the hub itself, never to the storage host a download redirects to. Every failure becomes one
/// <see cref="AutoCircuitException"/> that says what to do.
/// </summary>
internal sealed class HubClient : IDisposable
{
    private const int MaxRedirects = 5;
    private readonly HttpClient _http;
    private readonly HubSettings _settings;
    private readonly Uri _endpoint;

    public HubClient(HubSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        if (!Uri.TryCreate(settings.Endpoint + "/", UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new AutoCircuitException($"HF_ENDPOINT {settings.Endpoint}: not an http(s) address.");
        }

        _endpoint = endpoint;
        _http = new HttpClient(
            handler ?? new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                ConnectTimeout = TimeSpan.FromSeconds(20),
                AutomaticDecompression = DecompressionMethods.None,
            },
            disposeHandler: true)
        {
            Timeout = TimeSpan.FromSeconds(60), // until the headers arrive; bodies are read without a deadline
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("dotnet-autocircuit", "1.0"));
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The commit and files of <paramref name="name"/>'s revision.</summary>
    public HubRevision GetRevision(HubModelName name, CancellationToken token)
    {
        var uri = new Uri(_endpoint, $"api/models/{name.RepoId}/revision/{Uri.EscapeDataString(name.Revision)}?blobs=true");
        using var response = Ask(HttpMethod.Get, uri, name, token);
        Check(response, name, file: null);
        JsonDocument doc;
        try
        {
            using var body = response.Content.ReadAsStream(token);
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{uri}: the hub's answer is not JSON ({e.Message}).", e);
        }
        catch (IOException e)
        {
            throw new AutoCircuitException($"{uri}: the connection to the hub broke while it answered ({Reason(e)}).", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            var sha = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out var s) ? s.GetString() : null;
            if (sha is null || !HubModelName.IsCommitHash(sha))
            {
                throw new AutoCircuitException($"{uri}: the hub's answer has no commit hash (\"sha\").");
            }

            var files = new List<string>();
            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    if (sibling.ValueKind != JsonValueKind.Object || !sibling.TryGetProperty("rfilename", out var f) || f.GetString() is not { } file)
                    {
                        continue;
                    }

                    files.Add(file);
                    if (sibling.TryGetProperty("size", out var size) && size.ValueKind == JsonValueKind.Number)
                    {
                        sizes[file] = size.GetInt64();
                    }
                }
            }

            return new HubRevision(sha, files, sizes);
        }
    }

    /// <summary>The ETag, size and storage location of one file at a commit.</summary>
    public HubFileInfo Head(HubModelName name, string commit, string file, CancellationToken token)
    {
        var uri = ResolveUri(name, commit, file);
        for (var hop = 0; ; hop++)
        {
            using var response = Ask(HttpMethod.Head, uri, name, token);
            var status = (int)response.StatusCode;
            var linked = Header(response, "X-Linked-Etag");
            if (status is >= 300 and < 400 && response.Headers.Location is { } to)
            {
                var next = new Uri(uri, to);

                // A redirect within the hub (a renamed repository) is followed; one to storage (with the LFS ETag) is where
                // the bytes are.
                if (linked is null && SameHost(next, _endpoint) && hop < MaxRedirects)
                {
                    uri = next;
                    continue;
                }

                return Info(response, file, next, name);
            }

            Check(response, name, file);
            return Info(response, file, uri, name);
        }
    }

    /// <summary>
    /// Downloads <paramref name="info"/> into <paramref name="incomplete"/>, resuming from the bytes already there (HTTP Range)
    /// and again after a dropped connection, up to <see cref="HubSettings.Attempts"/> tries.
    /// </summary>
    /// <param name="info">The file.</param>
    /// <param name="incomplete">The partial blob.</param>
    /// <param name="progress">Told the number of bytes present after each chunk.</param>
    /// <param name="log">Told of retries.</param>
    /// <param name="token">Cancellation.</param>
    public void Download(HubFileInfo info, string incomplete, Action<long> progress, Action<string> log, CancellationToken token)
    {
        for (var attempt = 1; ; attempt++)
        {
            var have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (info.Size is long size && have > size)
            {
                File.Delete(incomplete); // longer than the file: not ours to resume
                have = 0;
            }

            if (info.Size is long full && have == full)
            {
                progress(have);
                return;
            }

            try
            {
                using var response = Fetch(info.Location, have, token);
                var status = (int)response.StatusCode;
                if (status == 416 && info.Size is long all && have == all)
                {
                    progress(have);
                    return;
                }

                if (status is not (200 or 206))
                {
                    Check(response, null, info.File);
                    throw new AutoCircuitException($"{info.Location}: the hub answered HTTP {status} for {info.File}.");
                }

                // 206: the server resumes at our offset; 200: it sends everything, so start over.
                var mode = status == 206 ? FileMode.Append : FileMode.Create;
                if (status == 200)
                {
                    have = 0;
                }

                using var body = response.Content.ReadAsStream(token);
                using var output = new FileStream(incomplete, mode, FileAccess.Write, FileShare.None, 1 << 20);
                var buffer = new byte[1 << 20];
                int read;
                while ((read = body.Read(buffer, 0, buffer.Length)) > 0)
                {
                    token.ThrowIfCancellationRequested();
                    output.Write(buffer, 0, read);
                    have += read;
                    progress(have);
                }

                output.Flush(flushToDisk: true);
                if (info.Size is long expected && have != expected)
                {
                    throw new IOException($"the connection closed after {have} of {expected} bytes");
                }

                return;
            }
            catch (Exception e) when (IsTransient(e, token) && attempt < _settings.Attempts)
            {
                log($"{info.File}: {Reason(e)}; resuming ({attempt + 1}/{_settings.Attempts})");
            }
            catch (Exception e) when (IsTransient(e, token))
            {
                var kept = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
                throw new AutoCircuitException(
                    $"downloading {info.File} from {_settings.Endpoint} failed after {_settings.Attempts} tries ({Reason(e)}); " +
                    $"{kept} bytes are kept in {incomplete} and the next run resumes from there.",
                    e);
            }
        }
    }

    /// <summary>A dropped or refused connection, a timeout (not the user's cancellation), a broken body.</summary>
    private static bool IsTransient(Exception e, CancellationToken token) =>
        e is IOException or HttpRequestException { StatusCode: null } or SocketException ||
        (e is TaskCanceledException or OperationCanceledException && !token.IsCancellationRequested);

    private static string Reason(Exception e) => e.InnerException is { } inner && e is HttpRequestException or IOException
        ? $"{e.Message.TrimEnd('.')}: {inner.Message.TrimEnd('.')}"
        : e.Message.TrimEnd('.');

    private HttpResponseMessage Fetch(Uri location, long from, CancellationToken token)
    {
        var uri = location;
        for (var hop = 0; ; hop++)
        {
            var response = Send(HttpMethod.Get, uri, from > 0 ? from : null, token);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } to && hop < MaxRedirects)
            {
                uri = new Uri(uri, to);
                response.Dispose();
                continue;
            }

            return response;
        }
    }

    private HttpResponseMessage Send(HttpMethod method, Uri uri, long? rangeFrom, CancellationToken token)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (_settings.Token is { } t && SameHost(uri, _endpoint))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t);
        }

        if (rangeFrom is long from)
        {
            request.Headers.Range = new RangeHeaderValue(from, null);
        }

        return _http.Send(request, HttpCompletionOption.ResponseHeadersRead, token);
    }

    /// <summary><see cref="Send"/> for the API and HEAD requests, where a network failure means the hub is out of reach.</summary>
    private HttpResponseMessage Ask(HttpMethod method, Uri uri, HubModelName name, CancellationToken token)
    {
        try
        {
            return Send(method, uri, null, token);
        }
        catch (Exception e) when (IsTransient(e, token))
        {
            throw new AutoCircuitException(
                $"--model {name}: not a file or folder here, so a Hugging Face model name, but the hub at {_settings.Endpoint} " +
                $"cannot be reached ({Reason(e)}). Check the path, the network (or HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use " +
                "only models already in the cache.",
                e);
        }
    }

    private Uri ResolveUri(HubModelName name, string commit, string file) =>
        new(_endpoint, $"{name.RepoId}/resolve/{commit}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");

    private HubFileInfo Info(HttpResponseMessage response, string file, Uri location, HubModelName name)
    {
        var etag = Header(response, "X-Linked-Etag") ?? response.Headers.ETag?.Tag ?? Header(response, "ETag");
        if (etag is null)
        {
            throw new AutoCircuitException($"{name}: the hub sent no ETag for {file}, so it cannot be placed in the cache or checked.");
        }

        etag = etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag;
        etag = etag.Trim('"');
        if (etag.Length == 0 || etag.Contains('/', StringComparison.Ordinal) || etag.Contains("..", StringComparison.Ordinal))
        {
            throw new AutoCircuitException($"{name}: the hub's ETag for {file} ('{etag}') cannot name a cache file.");
        }

        long? size = long.TryParse(Header(response, "X-Linked-Size"), out var linkedSize) ? linkedSize : response.Content.Headers.ContentLength;
        return new HubFileInfo(file, etag, size, location);
    }

    /// <summary>Turns an error answer into the message the user needs; returns on success.</summary>
    private void Check(HttpResponseMessage response, HubModelName? name, string? file)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            return;
        }

        var code = Header(response, "X-Error-Code");
        var repo = name?.RepoId ?? "the model";
        var page = name is null ? _settings.Endpoint : $"{_settings.Endpoint}/{name.RepoId}";
        var what = file is null ? repo : $"{repo}: {file}";
        throw code switch
        {
            "GatedRepo" => Refused(status, repo, page),
            "RepoNotFound" => new AutoCircuitException(
                $"--model {repo}: no such model on {_settings.Endpoint} (HTTP {status})" +
                (_settings.Token is null ? "; if it is private or gated, set HF_TOKEN." : ".")),
            "RevisionNotFound" => new AutoCircuitException(
                $"--model {name}: {repo} has no revision '{name?.Revision}' on {_settings.Endpoint} (a branch, tag or commit hash)."),
            "EntryNotFound" => new AutoCircuitException($"{what}: no such file at this revision on {_settings.Endpoint} (HTTP {status})."),
            _ => status switch
            {
                401 or 403 => Refused(status, repo, page),
                404 => new AutoCircuitException(
                    $"--model {name?.ToString() ?? repo}: {(file is null ? "no such model or revision" : $"no file {file}")} on {_settings.Endpoint} (HTTP 404)."),
                429 => new AutoCircuitException($"{what}: the hub is rate-limiting requests (HTTP 429); try again later or set HF_TOKEN."),
                _ => new AutoCircuitException($"{what}: the hub at {_settings.Endpoint} answered HTTP {status} {response.ReasonPhrase}."),
            },
        };
    }

    private AutoCircuitException Refused(int status, string repo, string page) => _settings.Token is null
        ? new AutoCircuitException(
            $"--model {repo} is gated or private (HTTP {status}): set HF_TOKEN to an access token of an account that has " +
            $"accepted its licence at {page}.")
        : new AutoCircuitException(
            $"--model {repo}: the hub refused the token in HF_TOKEN (HTTP {status}); accept the model's licence at {page} " +
            "with that account, or use a token with read access.");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    private static bool SameHost(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(a.Authority, b.Authority, StringComparison.OrdinalIgnoreCase);
}
