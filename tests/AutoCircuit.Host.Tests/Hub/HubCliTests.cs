using System.Text.Json;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Host.Tests.Plugins;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.Hub;

/// <summary>
/// <c>--model NAME</c> end to end: the tool runs in a child process whose environment points HF_ENDPOINT at a hub on
/// loopback and HF_HUB_CACHE at a fresh folder (the test process's own environment is never changed).
/// </summary>
public sealed class HubCliTests : IDisposable
{
    private const string Repo = "tiny-org/tiny-gpt2";
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-hubcli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tool => Path.Combine(TestFixtures.OutputDirectory, "dotnet-autocircuit.dll");

    private Dictionary<string, string> Environment(FakeHub hub, bool offline = false) => new()
    {
        ["HF_ENDPOINT"] = hub.Endpoint,
        ["HF_HUB_CACHE"] = Path.Combine(_dir, "hub"),
        ["HF_HOME"] = Path.Combine(_dir, "hf-home"),
        ["HF_TOKEN"] = string.Empty,
        ["HF_HUB_OFFLINE"] = offline ? "1" : string.Empty,
    };

    private static string AddTinyGpt2(FakeHub hub)
    {
        var folder = ModelFixtures.Folder("gpt2-random");
        return hub.Add(Repo, new Dictionary<string, byte[]>
        {
            ["config.json"] = File.ReadAllBytes(Path.Combine(folder, "config.json")),
            ["model.safetensors"] = File.ReadAllBytes(Path.Combine(folder, "model.safetensors")),
        });
    }

    private static JsonElement Logits(string output)
    {
        var json = output.Split('\n').Single(l => l.StartsWith("{\"model\"", StringComparison.Ordinal));
        return JsonDocument.Parse(json).RootElement.GetProperty("logits").Clone();
    }

    [Fact]
    public void Logits_ModelByName_DownloadsIntoTheCacheAndComputesWhatTheFolderDoes()
    {
        using var hub = new FakeHub();
        AddTinyGpt2(hub);

        var (byNameCode, byName) = DotNetProcess.Run(_dir, Environment(hub), Tool, "logits", "--model", Repo, "--tokens", "1,2,3", "--device", "cpu");
        var (folderCode, byFolder) = DotNetProcess.Run(
            _dir, Environment(hub), Tool, "logits", "--model", ModelFixtures.Folder("gpt2-random"), "--tokens", "1,2,3", "--device", "cpu");

        Assert.True(byNameCode == 0, byName);
        Assert.True(folderCode == 0, byFolder);
        Assert.Contains($"--model {Repo}: downloading 2 file(s)", byName, StringComparison.Ordinal);
        Assert.Equal(Logits(byFolder).GetRawText(), Logits(byName).GetRawText());
        Assert.True(Directory.Exists(Path.Combine(_dir, "hub", "models--tiny-org--tiny-gpt2", "snapshots")));
    }

    [Fact]
    public void Run_ModelByNameWithDownloadWhileOffline_UsesTheCacheAndSaysSo()
    {
        using var hub = new FakeHub();
        var commit = AddTinyGpt2(hub);
        var (fillCode, fill) = DotNetProcess.Run(_dir, Environment(hub), Tool, "logits", "--model", Repo, "--tokens", "1", "--device", "cpu");
        Assert.True(fillCode == 0, fill);
        var requests = hub.Requests.Count;
        var dataset = Path.Combine(_dir, "ids.json");
        File.WriteAllText(dataset, JsonSerializer.Serialize(new
        {
            prompts = Enumerable.Range(0, 8).Select(i => new
            {
                clean = new[] { 1 + i, 2 + i, 3 + i },
                corrupt = new[] { 50 + i, 51 + i, 52 + i },
                answers = new[] { 4 + i },
                wrong_answers = new[] { 53 + i },
            }),
        }));

        var (code, output) = DotNetProcess.Run(
            _dir, Environment(hub, offline: true), Tool, "run", "--model", Repo, "--download", "--dataset", dataset, "-a", "activation-magnitude",
            "--batch-size", "4", "--train-size", "4", "--test-size", "4", "--edges", "0,1", "--device", "cpu", "--out", Path.Combine(_dir, "run"));

        Assert.True(code == 0, output);
        Assert.Contains("HF_HUB_OFFLINE is set, so the hub is not asked", output, StringComparison.Ordinal);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "run", "run.json")));
        var model = run.RootElement.GetProperty("model");
        Assert.Equal(Repo, model.GetProperty("spec").GetString());
        Assert.Equal(commit, model.GetProperty("hub_commit").GetString());
        Assert.Equal(requests, hub.Requests.Count);
    }

    [Fact]
    public void Logits_OfflineCacheMiss_ExitsOneWithOneLine()
    {
        using var hub = new FakeHub();
        AddTinyGpt2(hub);

        var (code, output) = DotNetProcess.Run(
            _dir, Environment(hub, offline: true), Tool, "logits", "--model", Repo, "--tokens", "1", "--device", "cpu");

        Assert.Equal(1, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: --model {Repo}: not in the Hugging Face cache", line, StringComparison.Ordinal);
        Assert.Empty(hub.Requests);
    }
}
