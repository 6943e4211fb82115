using System.Text.Json;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Testing;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Cli;

/// <summary><c>logits</c> and <c>generate</c>, in process.</summary>
public sealed class ModelCommandsTests
{
    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Logits_PromptAndTop_EncodeWithTheTokenizerAndRankTheSoftmax()
    {
        var dir = Directory.CreateTempSubdirectory("ac-logits-").FullName;
        try
        {
            string[] words = ["hello", "world", "mary", "john"];
            var tokenizer = HfTokenizerTests.WriteFolder(
                Path.Combine(dir, "tok"), HfTokenizerTests.WordLevelJson(words), new System.Text.Json.Nodes.JsonObject { ["bos_token"] = "<s>" });
            var model = ModelFixtures.Folder("gpt2-random");

            var (code, output, err) = await Run(
                "logits", "--model", model, "--tokenizer", tokenizer, "--prompt", "mary world", "--top", "3", "--all-positions", "--device", "cpu");
            var (idsCode, byIds, idsErr) = await Run("logits", "--model", model, "--tokens", "0,5,4,1", "--all-positions", "--device", "cpu");

            Assert.True(code == 0, err);
            Assert.True(idsCode == 0, idsErr);
            using var json = JsonDocument.Parse(output);
            using var plain = JsonDocument.Parse(byIds);
            var root = json.RootElement;
            Assert.Equal("mary world", root.GetProperty("prompt").GetString());
            Assert.Equal([0L, 5, 4, 1], root.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt64())); // <s> mary world </s>
            Assert.Equal(plain.RootElement.GetProperty("logits").GetRawText(), root.GetProperty("logits").GetRawText());
            Assert.False(plain.RootElement.TryGetProperty("top", out _)); // the plain output is unchanged

            using var logits = TestFixtures.ToTensor(root.GetProperty("logits")).to_type(TorchSharp.torch.ScalarType.Float64); // [T, V]
            using var probabilities = logits.softmax(1);
            var top = root.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(4, top.Count); // one list per position
            for (var t = 0; t < top.Count; t++)
            {
                var row = top[t].EnumerateArray().ToList();
                Assert.Equal(3, row.Count);
                var expected = logits[t].argsort(descending: true).data<long>().Take(3).ToArray();
                Assert.Equal(expected, row.Select(e => e.GetProperty("id").GetInt64()));
                foreach (var e in row)
                {
                    var id = e.GetProperty("id").GetInt64();
                    Assert.Equal(probabilities[t, id].item<double>(), e.GetProperty("probability").GetDouble(), 1e-6);
                    Assert.Equal(logits[t, id].item<double>(), e.GetProperty("logit").GetDouble(), 1e-5);
                    var text = e.GetProperty("text");
                    Assert.True(id < 7 ? text.ValueKind == JsonValueKind.String : text.ValueKind == JsonValueKind.Null, $"id {id}: {text}");
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("give either --tokens (ids) or --prompt (text), not both", "--tokens", "1,2", "--prompt", "hello")]
    [InlineData("give either --tokens (ids) or --prompt (text), not both")]
    [InlineData("--top 0: must be 1 or more", "--tokens", "1,2", "--top", "0")]
    public async Task Logits_BadTextOrTop_IsOneLineUsageError(string message, params string[] args)
    {
        var (code, output, err) = await Run(["logits", "--model", ModelFixtures.Folder("gpt2-random"), "--device", "cpu", .. args]);

        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains(message, err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Logits_RandomGpt2_MatchesReference(bool allPositions)
    {
        using var reference = ModelFixtures.Reference("gpt2-random");
        var plain = reference.RootElement.GetProperty("cases")[0];
        var ids = plain.GetProperty("tokens")[0].EnumerateArray().Select(e => e.GetInt64()).ToArray();
        using var expectedAll = TestFixtures.ToTensor(plain.GetProperty("logits"))[0]; // [T, V]
        string[] args = ["logits", "--model", ModelFixtures.Folder("gpt2-random"), "--tokens", string.Join(",", ids), "--device", "cpu"];

        var (code, output, err) = await Run(allPositions ? [.. args, "--all-positions"] : args);

        Assert.True(code == 0, err);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(allPositions ? "all" : "last", json.RootElement.GetProperty("positions").GetString());
        using var actual = TestFixtures.ToTensor(json.RootElement.GetProperty("logits"));
        using var expected = allPositions ? expectedAll.alias() : expectedAll[-1];
        TensorAssert.AllClose(expected, actual, 1e-4, 0, "CLI logits");
    }

    [Theory]
    [InlineData("1,x", "'x' is not an integer token id")]
    [InlineData("1,100", "Token id 100 is outside the vocabulary of gpt2-random (0..99)")]
    [InlineData(",", "give at least one token id")]
    public async Task Logits_BadTokens_UsageErrorNamingTheProblem(string tokens, string expected)
    {
        var (code, output, err) = await Run("logits", "--model", ModelFixtures.Folder("gpt2-random"), "--tokens", tokens, "--device", "cpu");

        Assert.Equal(1, code);
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }

    [Fact]
    public async Task Logits_MicroModel_IsRejected()
    {
        var (code, _, err) = await Run("logits", "--model", "micro", "--tokens", "1,2", "--device", "cpu");

        Assert.Equal(1, code);
        Assert.Contains("needs a transformer", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_ModelWithoutTokenizer_AsksForOne()
    {
        var (code, _, err) = await Run("generate", "--model", ModelFixtures.Folder("llama-random"), "--prompt", "hi", "--device", "cpu");

        Assert.Equal(1, code);
        Assert.Contains("no tokenizer found with the checkpoint; give --tokenizer", err, StringComparison.Ordinal);
    }

    [SharedModelFact("stories260K/stories260K.bin")]
    public async Task Generate_Stories260KFromBos_TellsTheStory()
    {
        var (code, output, err) = await Run(
            "generate", "--model", ModelFixtures.Shared("stories260K/stories260K.bin")!, "--max-tokens", "40", "--device", "cpu");

        Assert.True(code == 0, err);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", output, StringComparison.Ordinal);
        Assert.Contains("prompt ids: [1]; generated 40: [403, 407, 261, 378,", err, StringComparison.Ordinal);
    }

    [SharedModelFact("stories260K/stories260K.bin")]
    public async Task Generate_Stories260KWithPrompt_ContinuesThePrompt()
    {
        var (code, output, err) = await Run(
            "generate", "--model", ModelFixtures.Shared("stories260K/stories260K.bin")!, "--prompt", "Once upon a time", "-n", "8", "--device", "cpu");

        Assert.True(code == 0, err);
        Assert.StartsWith("Once upon a time, there was a little girl", output, StringComparison.Ordinal);
        Assert.Contains("prompt ids: [1, 403, 407, 261, 378]", err, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2")]
    public async Task Generate_FakeGpt2_UsesItsVocabAndMergesAndMatchesReferenceGreedy()
    {
        using var reference = ModelFixtures.Reference("fake-gpt2");
        var greedy = reference.RootElement.GetProperty("greedy_5").EnumerateArray().Select(e => e.GetInt64());

        var (code, output, err) = await Run(
            "generate", "--model", ModelFixtures.Shared("fake-gpt2")!, "--prompt", "When Mary and John went to the store, John gave a drink to",
            "-n", "5", "--device", "cpu");

        Assert.True(code == 0, err);
        Assert.StartsWith("When Mary and John went to the store, John gave a drink to", output, StringComparison.Ordinal);
        Assert.Contains($"generated 5: [{string.Join(", ", greedy)}]", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_LogitsAndGenerate_ExplainTheirOptions()
    {
        var (code, logits, _) = await Run("logits", "--help");
        var (code2, generate, _) = await Run("generate", "--help");

        Assert.Equal(0, code);
        Assert.Equal(0, code2);
        Assert.Contains("--all-positions", logits, StringComparison.Ordinal);
        Assert.Contains("llama2.c", logits, StringComparison.Ordinal);
        Assert.Contains("the empty prompt", generate, StringComparison.Ordinal);
        Assert.Contains("--max-tokens", generate, StringComparison.Ordinal);
    }
}
