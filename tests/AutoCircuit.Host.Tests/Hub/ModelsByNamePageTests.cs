using AutoCircuit.Host.Tests.Docs;
using AutoCircuit.Host.Tests.Models;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Hub;

/// <summary>
/// The commands of docs/models-by-name.md, as written, against a hub on loopback (<see cref="FakeHub"/>) that serves a
/// small random GPT-2 under the names the page uses, with a fresh Hugging Face cache: the page's examples need the
/// network otherwise, so the generic doc-page run leaves them to this test.
/// </summary>
public sealed class ModelsByNamePageTests(ITestOutputHelper output) : IDisposable
{
    private const string Page = "docs/models-by-name.md";

    private static readonly string[] Names = ["gpt2", "openai-community/gpt2"];

    private readonly string _dir = Directory.CreateTempSubdirectory("ac-hubdocs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Whether this test runs a block: the page's shell blocks with a tool command.</summary>
    internal static bool RunsBlock(DocBlock block) =>
        block.Page == Page && block.IsShell && block.Commands().Any(c => c.ToolArguments is not null);

    [Fact]
    public void Page_ToolCommands_RunAsWrittenAgainstAHubOnLoopback()
    {
        using var hub = new FakeHub();
        var folder = ModelFixtures.Folder("gpt2-random");
        foreach (var name in Names)
        {
            hub.Add(name, new Dictionary<string, byte[]>
            {
                ["config.json"] = File.ReadAllBytes(Path.Combine(folder, "config.json")),
                ["model.safetensors"] = File.ReadAllBytes(Path.Combine(folder, "model.safetensors")),
            });
        }

        var blocks = DocPages.Blocks(Page).Where(RunsBlock).ToList();
        Assert.NotEmpty(blocks);
        var cache = Path.Combine(_dir, "hub");
        var script = DocScript.ToBash(blocks, skipCiCommands: false);
        var work = Directory.CreateDirectory(Path.Combine(_dir, "work")).FullName;

        var (code, log) = DocScript.Run(script, work, Path.Combine(_dir, "home"), new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HUB_CACHE"] = cache,
            ["HF_HOME"] = Path.Combine(_dir, "hf-home"),
            ["HF_TOKEN"] = string.Empty,
            ["HF_HUB_OFFLINE"] = string.Empty,
        });

        output.WriteLine(script);
        output.WriteLine(log);
        Assert.True(code == 0, $"{Page}: the commands of {string.Join(", ", blocks.Select(b => $"line {b.Line}"))} failed (exit code {code}):\n{log}");
        Assert.All(Names, name => Assert.True(
            Directory.Exists(Path.Combine(cache, "models--" + name.Replace("/", "--", StringComparison.Ordinal), "snapshots")),
            $"{name} was not downloaded into {cache}"));
    }
}
