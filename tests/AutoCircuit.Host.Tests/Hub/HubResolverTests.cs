using System.Text;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Hub;
using AutoCircuit.Models.Transformers;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Hub;

/// <summary>
/// Models by name against a hub on loopback (<see cref="FakeHub"/>): the cache layout huggingface_hub writes, resumed and
/// verified downloads, gated models, offline mode, and every refusal as one clear message. Nothing leaves the machine.
/// </summary>
public sealed class HubResolverTests : IDisposable
{
    private const string Repo = "tiny-org/tiny-gpt2";
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-hub-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CacheDir => Path.Combine(_dir, "hub");

    private static Dictionary<string, byte[]> TinyGpt2()
    {
        var folder = ModelFixtures.Folder("gpt2-random");
        return new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(folder, "config.json")),
            ["model.safetensors"] = File.ReadAllBytes(Path.Combine(folder, "model.safetensors")),
            ["tokenizer_config.json"] = Encoding.UTF8.GetBytes("{\"model_max_length\": 32}"),
            ["special_tokens_map.json"] = Encoding.UTF8.GetBytes("{\"bos_token\": \"<|endoftext|>\"}"),
            ["README.md"] = Encoding.UTF8.GetBytes("# not downloaded"),
            ["tf_model.h5"] = [1, 2, 3],
        };
    }

    private HubSettings Settings(FakeHub? hub) => new()
    {
        CacheDir = CacheDir,
        Endpoint = hub?.Endpoint ?? "http://127.0.0.1:9", // the discard port: nothing listens, connections are refused
    };

    private static HubModelName Name(string text = Repo) =>
        HubModelName.TryParse(text, out var n) ? n : throw new InvalidOperationException(text);

    private static bool IsRelativeLinkTo(string link, string target)
    {
        var info = new FileInfo(link);
        return info.LinkTarget is { } t && !Path.IsPathRooted(t) &&
               Path.GetFullPath(Path.Combine(Path.GetDirectoryName(link)!, t)) == Path.GetFullPath(target);
    }

    [Theory]
    [InlineData("gpt2", "gpt2", "main")]
    [InlineData("meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B", "main")]
    [InlineData("meta-llama/Llama-3.2-1B@v1.0", "meta-llama/Llama-3.2-1B", "v1.0")]
    [InlineData("gpt2@607a30d783dfa663caf39e06633721c8d4cfcd7e", "gpt2", "607a30d783dfa663caf39e06633721c8d4cfcd7e")]
    [InlineData("org/name@refs/pr/1", "org/name", "refs/pr/1")]
    public void TryParse_HubNames_AreRepositoryAndRevision(string text, string repo, string revision)
    {
        Assert.True(HubModelName.TryParse(text, out var name));

        Assert.Equal(repo, name.RepoId);
        Assert.Equal(revision, name.Revision);
    }

    [Theory]
    [InlineData("./gpt2")]
    [InlineData("/models/gpt2")]
    [InlineData("a/b/c")]
    [InlineData("~/gpt2")]
    [InlineData("model.safetensors")]
    [InlineData("checkpoints/stories15M.bin")]
    [InlineData("org--x/name")]
    [InlineData("gpt2@")]
    [InlineData("gpt2@../x")]
    [InlineData("")]
    public void TryParse_PathsAndBadNames_AreNotHubNames(string text) =>
        Assert.False(HubModelName.TryParse(text, out _));

    [Fact]
    public void FromEnvironment_FollowsHuggingFaceHubVariables()
    {
        var home = Path.Combine(_dir, "hf-home");
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");
        var env = new Dictionary<string, string> { ["HF_HOME"] = home, ["HF_ENDPOINT"] = "http://mirror.local/", ["HF_HUB_OFFLINE"] = "True" };

        var fromHome = HubSettings.FromEnvironment(k => env.GetValueOrDefault(k));
        env["HF_HUB_CACHE"] = Path.Combine(_dir, "elsewhere");
        env["HF_TOKEN"] = "hf_from_env";
        env["HF_HUB_OFFLINE"] = "0";
        var explicitCache = HubSettings.FromEnvironment(k => env.GetValueOrDefault(k));

        Assert.Equal(Path.Combine(home, "hub"), fromHome.CacheDir);
        Assert.Equal("http://mirror.local", fromHome.Endpoint);
        Assert.Equal("hf_from_file", fromHome.Token);
        Assert.True(fromHome.Offline);
        Assert.Equal(Path.Combine(_dir, "elsewhere"), explicitCache.CacheDir);
        Assert.Equal("hf_from_env", explicitCache.Token);
        Assert.False(explicitCache.Offline);
    }

    [Fact]
    public void Resolve_FreshDownload_WritesTheHuggingFaceCacheLayout()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        var commit = hub.Add(Repo, files);
        var progress = new RecordingProgress();

        var folder = new HubResolver(Settings(hub), progress).Resolve(Name(), CancellationToken.None);

        var repoDir = Path.Combine(CacheDir, "models--tiny-org--tiny-gpt2");
        Assert.Equal(Path.Combine(repoDir, "snapshots", commit), folder);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));
        var weights = files["model.safetensors"];
        var lfsBlob = Path.Combine(repoDir, "blobs", FakeHub.Sha256(weights));
        var configBlob = Path.Combine(repoDir, "blobs", FakeHub.GitBlobId(files["config.json"]));
        Assert.True(IsRelativeLinkTo(Path.Combine(folder, "model.safetensors"), lfsBlob), "model.safetensors -> ../../blobs/<sha256>");
        Assert.True(IsRelativeLinkTo(Path.Combine(folder, "config.json"), configBlob), "config.json -> ../../blobs/<git blob id>");
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Equal(
            ["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer_config.json"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.Combine(repoDir, "blobs"), "*.incomplete"));
        Assert.Contains(progress.Tasks, t => t.Description.Contains("model.safetensors", StringComparison.Ordinal) && t.Total == weights.Length && t.Done == weights.Length);
        Assert.All(hub.Requests, r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void Resolve_CacheHit_UsesTheSnapshotWithoutAnyServer()
    {
        using (var hub = new FakeHub())
        {
            hub.Add(Repo, TinyGpt2());
            new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None);
        }

        var folder = new HubResolver(Settings(hub: null)).Resolve(Name(), CancellationToken.None);
        using var loaded = ModelCatalog.Load(Repo, CPU, hub: new HubResolver(Settings(hub: null)));

        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        var model = Assert.IsType<Transformer>(loaded.Model);
        Assert.Equal(3, model.Config.Layers);
        Assert.Equal(Repo, loaded.Name);
    }

    [Fact]
    public void Resolve_CacheWrittenByPython_IsReadAsItIs()
    {
        // The layout huggingface_hub writes, made by hand: refs/main, blobs by hash, relative links.
        var files = TinyGpt2();
        var commit = new string('a', 40);
        var repoDir = Path.Combine(CacheDir, "models--tiny-org--tiny-gpt2");
        Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
        Directory.CreateDirectory(Path.Combine(repoDir, "blobs"));
        Directory.CreateDirectory(Path.Combine(repoDir, "snapshots", commit));
        File.WriteAllText(Path.Combine(repoDir, "refs", "v1"), commit);
        foreach (var file in new[] { "config.json", "model.safetensors" })
        {
            var etag = FakeHub.IsLfs(file) ? FakeHub.Sha256(files[file]) : FakeHub.GitBlobId(files[file]);
            File.WriteAllBytes(Path.Combine(repoDir, "blobs", etag), files[file]);
            File.CreateSymbolicLink(Path.Combine(repoDir, "snapshots", commit, file), $"../../blobs/{etag}");
        }

        var byRef = new HubResolver(Settings(hub: null)).Resolve(Name(Repo + "@v1"), CancellationToken.None);
        var byCommit = new HubResolver(Settings(hub: null)).Resolve(Name($"{Repo}@{commit}"), CancellationToken.None);

        Assert.Equal(Path.Combine(repoDir, "snapshots", commit), byRef);
        Assert.Equal(byRef, byCommit);
    }

    [Fact]
    public void Resolve_ConnectionDroppedMidFile_ResumesWithRangeAndVerifies()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        var weights = files["model.safetensors"];
        hub.Add(Repo, files);
        hub.DropOnce(FakeHub.Sha256(weights), 50_000);
        var log = new StringWriter();

        var folder = new HubResolver(Settings(hub), log: log).Resolve(Name(), CancellationToken.None);

        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        var cdn = hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Method == "GET").ToList();
        Assert.Equal(2, cdn.Count);
        Assert.Null(cdn[0].Range);
        Assert.Equal("bytes=50000-", cdn[1].Range);
        Assert.Contains("model.safetensors", log.ToString(), StringComparison.Ordinal);
        Assert.Contains("resuming", log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_InterruptedRun_TheNextRunResumesFromTheIncompleteFile()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        var weights = files["model.safetensors"];
        var sha = FakeHub.Sha256(weights);
        hub.Add(Repo, files);
        hub.DropOnce(sha, 30_000);
        var incomplete = Path.Combine(CacheDir, "models--tiny-org--tiny-gpt2", "blobs", sha + ".incomplete");

        var first = Assert.Throws<AutoCircuitException>(
            () => new HubResolver(Settings(hub) with { Attempts = 1 }).Resolve(Name(), CancellationToken.None));
        var kept = new FileInfo(incomplete).Length;
        var folder = new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None);

        Assert.Contains("model.safetensors", first.Message, StringComparison.Ordinal);
        Assert.Contains(".incomplete", first.Message, StringComparison.Ordinal);
        Assert.Equal(30_000, kept);
        Assert.Equal($"bytes={kept}-", hub.Requests.Last(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Range);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.False(File.Exists(incomplete));
    }

    [Fact]
    public void Resolve_CorruptDownload_IsRefusedNamingTheFileAndBothHashes()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        var weights = files["model.safetensors"];
        var sha = FakeHub.Sha256(weights);
        var corrupt = (byte[])weights.Clone();
        corrupt[corrupt.Length / 2] ^= 0xFF;
        var commit = hub.Add(Repo, files);
        hub.Corrupt(sha);

        var e = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None));

        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains(sha, e.Message, StringComparison.Ordinal);
        Assert.Contains(FakeHub.Sha256(corrupt), e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        var repoDir = Path.Combine(CacheDir, "models--tiny-org--tiny-gpt2");
        Assert.False(File.Exists(Path.Combine(repoDir, "snapshots", commit, "model.safetensors")));
        Assert.Empty(Directory.GetFiles(Path.Combine(repoDir, "blobs"), sha + "*"));
    }

    [Fact]
    public void Resolve_GatedModel_NeedsTheTokenWhichNeverLeavesTheHub()
    {
        using var hub = new FakeHub();
        hub.Add(Repo, TinyGpt2(), gatedToken: "hf_good");

        var anonymous = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None));
        var wrong = Assert.Throws<AutoCircuitException>(
            () => new HubResolver(Settings(hub) with { Token = "hf_bad" }).Resolve(Name(), CancellationToken.None));
        var folder = new HubResolver(Settings(hub) with { Token = "hf_good" }).Resolve(Name(), CancellationToken.None);

        Assert.Contains("set HF_TOKEN", anonymous.Message, StringComparison.Ordinal);
        Assert.Contains("licence", anonymous.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', anonymous.Message);
        Assert.Contains("refused the token in HF_TOKEN", wrong.Message, StringComparison.Ordinal);
        Assert.Contains($"{hub.Endpoint}/{Repo}", wrong.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        var good = hub.Requests.Where(r => r.Authorization == "Bearer hf_good").ToList();
        Assert.Contains(good, r => r.Path.StartsWith("/api/", StringComparison.Ordinal));
        Assert.Contains(good, r => r.Path.Contains("/resolve/", StringComparison.Ordinal));
        Assert.All(hub.Requests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public void Resolve_Offline_NeverAsksTheHub()
    {
        using var hub = new FakeHub();
        hub.Add(Repo, TinyGpt2());

        var miss = Assert.Throws<AutoCircuitException>(
            () => new HubResolver(Settings(hub) with { Offline = true }).Resolve(Name(), CancellationToken.None));
        var asked = hub.Requests.Count;
        new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None);
        var hit = new HubResolver(Settings(hub) with { Offline = true, Download = true }).Resolve(Name(), CancellationToken.None);

        Assert.Equal(0, asked);
        Assert.Contains("HF_HUB_OFFLINE", miss.Message, StringComparison.Ordinal);
        Assert.Contains("not in the Hugging Face cache", miss.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(hit));
    }

    [Fact]
    public void Resolve_Download_RefreshesABranchThatMovedWhileTheCacheAloneKeepsIt()
    {
        using var hub = new FakeHub();
        var first = hub.Add(Repo, TinyGpt2());
        new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None);
        var files = TinyGpt2();
        files["tokenizer_config.json"] = Encoding.UTF8.GetBytes("{\"model_max_length\": 16}");
        var second = hub.Add(Repo, files);
        var before = hub.Requests.Count;

        var cached = new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None);
        var askedWithoutDownload = hub.Requests.Count - before;
        var refreshed = new HubResolver(Settings(hub) with { Download = true }).Resolve(Name(), CancellationToken.None);

        Assert.EndsWith(first, cached, StringComparison.Ordinal);
        Assert.Equal(0, askedWithoutDownload);
        Assert.EndsWith(second, refreshed, StringComparison.Ordinal);
        Assert.Equal(second, File.ReadAllText(Path.Combine(CacheDir, "models--tiny-org--tiny-gpt2", "refs", "main")));

        // The weights did not change: the new snapshot links the blob already there instead of downloading it again.
        Assert.Single(hub.Requests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal) && r.Method == "GET");
    }

    [Fact]
    public void Resolve_ShardedSafetensors_DownloadsEveryShardAndLoadsTheSameWeights()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        var (tensors, _) = Safetensors.Read(Path.Combine(ModelFixtures.Folder("gpt2-random"), "model.safetensors"));
        var shardDir = Path.Combine(_dir, "shards");
        Directory.CreateDirectory(shardDir);
        var half = tensors.Count / 2;
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (shard, part) in new[] { ("model-00001-of-00002.safetensors", tensors.Take(half)), ("model-00002-of-00002.safetensors", tensors.Skip(half)) })
        {
            var list = part.ToList();
            Safetensors.Write(Path.Combine(shardDir, shard), list);
            files[shard] = File.ReadAllBytes(Path.Combine(shardDir, shard));
            foreach (var t in list)
            {
                map[t.Key] = shard;
            }
        }

        files.Remove("model.safetensors");
        files["model.safetensors.index.json"] = JsonSerializer.SerializeToUtf8Bytes(new { metadata = new { }, weight_map = map });
        hub.Add(Repo, files);

        using var sharded = ModelCatalog.Load(Repo, CPU, hub: new HubResolver(Settings(hub)));
        using var single = ModelCatalog.Load(ModelFixtures.Folder("gpt2-random"), CPU);

        var expected = ((Transformer)single.Model).state_dict();
        var actual = ((Transformer)sharded.Model).state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, kv => Assert.True(kv.Value.equal(actual[kv.Key]).all().item<bool>(), kv.Key));
    }

    [Fact]
    public void Resolve_UnknownRepositoryRevisionOrNoHub_SaysWhichInOneLine()
    {
        using var hub = new FakeHub();
        hub.Add(Repo, TinyGpt2());

        var repo = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub)).Resolve(Name("nobody/nothing"), CancellationToken.None));
        var revision = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub)).Resolve(Name(Repo + "@v9"), CancellationToken.None));
        var offline = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub: null)).Resolve(Name(), CancellationToken.None));

        Assert.Contains("nobody/nothing: no such model on " + hub.Endpoint, repo.Message, StringComparison.Ordinal);
        Assert.Contains("has no revision 'v9'", revision.Message, StringComparison.Ordinal);
        Assert.Contains($"--model {Repo}: not a file or folder here, so a Hugging Face model name, but the hub at http://127.0.0.1:9 cannot be reached", offline.Message, StringComparison.Ordinal);
        Assert.All(new[] { repo, revision, offline }, e => Assert.DoesNotContain('\n', e.Message));
    }

    [Fact]
    public void Resolve_RepositoryWithoutWeights_ListsWhatItHas()
    {
        using var hub = new FakeHub();
        var files = TinyGpt2();
        files.Remove("model.safetensors");
        hub.Add(Repo, files);

        var e = Assert.Throws<AutoCircuitException>(() => new HubResolver(Settings(hub)).Resolve(Name(), CancellationToken.None));

        Assert.Contains("no weights the loaders read", e.Message, StringComparison.Ordinal);
        Assert.Contains("tf_model.h5", e.Message, StringComparison.Ordinal);
    }

    private sealed class RecordingProgress : IProgressSink
    {
        public List<Task> Tasks { get; } = [];

        public IProgressTask Start(string description, long total)
        {
            var task = new Task(description, total);
            Tasks.Add(task);
            return task;
        }

        public sealed class Task(string description, long total) : IProgressTask
        {
            public string Description { get; } = description;

            public long Total { get; } = total;

            public long Done { get; private set; }

            public void Advance(long steps = 1) => Done += steps;

            public void Describe(string description)
            {
            }

            public void Dispose()
            {
            }
        }
    }
}
