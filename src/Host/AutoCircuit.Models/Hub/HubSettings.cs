namespace AutoCircuit.Models.Hub;

/// <summary>
/// Where models by name come from, read from huggingface_hub's environment variables so that the cache is shared with
/// Python tools: <c>HF_HUB_CACHE</c> (else <c>HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>), <c>HF_ENDPOINT</c>
/// (default <c>https://huggingface.co</c>), <c>HF_TOKEN</c> (else the token file <c>HF_HOME/token</c> that
/// <c>huggingface-cli login</c> writes) and <c>HF_HUB_OFFLINE</c>.
/// </summary>
public sealed record HubSettings
{
    /// <summary>The public hub.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The cache folder (the one holding <c>models--org--name</c> folders).</summary>
    public required string CacheDir { get; init; }

    /// <summary>The hub's address, without a trailing slash.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>A user access token sent as <c>Authorization: Bearer</c> to the hub (gated and private models).</summary>
    public string? Token { get; init; }

    /// <summary><c>HF_HUB_OFFLINE</c>: never contact the hub.</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// <c>--download</c>: ask the hub for the revision's current commit and fetch whatever is missing, even when a snapshot
    /// is cached (refreshes a branch). Without it the cache is used as it is and the hub is asked only on a cache miss.
    /// </summary>
    public bool Download { get; init; }

    /// <summary>How many times one file is tried (a dropped connection resumes where it stopped).</summary>
    public int Attempts { get; init; } = 4;

    /// <summary>The settings of this process's environment.</summary>
    public static HubSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>The settings of an environment given as a lookup (tests pass their own).</summary>
    public static HubSettings FromEnvironment(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        string? Get(string name) => env(name) is { Length: > 0 } v ? v : null;
        var home = Get("HF_HOME") ?? Path.Combine(
            Get("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"),
            "huggingface");
        var cache = Get("HF_HUB_CACHE") ?? Get("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(home, "hub");
        var token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN") ?? ReadTokenFile(Get("HF_TOKEN_PATH") ?? Path.Combine(home, "token"));
        return new HubSettings
        {
            CacheDir = ExpandHome(cache),
            Endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/'),
            Token = token,
            Offline = IsTrue(Get("HF_HUB_OFFLINE")),
        };
    }

    /// <summary>huggingface_hub's reading of a boolean variable.</summary>
    private static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? ReadTokenFile(string path)
    {
        try
        {
            return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } t ? t : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ExpandHome(string path) =>
        path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : path;
}
