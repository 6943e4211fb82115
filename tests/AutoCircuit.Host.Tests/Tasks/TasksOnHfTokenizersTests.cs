using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>
/// The task generators with the model's own tokenizer: IOI and induction on the Llama-3, Qwen and Gemma vocabularies
/// (single-token names and answers, fixed token positions), greater-than refused where numbers are not split in two-digit
/// tokens, naming the year and the tokenizer.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class TasksOnHfTokenizersTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-tasktok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static HfTokenizer Load(string name) => HfTokenizer.Load(TokenizerFixtures.Folder(name)!);

    private static EncodedPrompts Encode(HfTokenizer tokenizer, DatasetDocument doc, TokenPadding? padding = null) =>
        new TextPromptEncoder(tokenizer, padding, prependBos: tokenizer.BosId is not null).Encode(doc, doc.Prompts);

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void Ioi_OnLlama3QwenGemma_AnswersAreOneTokenAndTokenPositionsAreFixed()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var mixed = IoiTask.Generate(tokenizer, 64, IoiPattern.Mixed, template: null, seed: 0);
            foreach (var p in mixed.Prompts)
            {
                Assert.Single(tokenizer.Encode(p.Answers.Texts![0]));
                Assert.Single(tokenizer.Encode(p.WrongAnswers.Texts![0]));
            }

            var doc = IoiTask.Generate(tokenizer, 32, IoiPattern.Baba, template: 0, seed: 0);
            var e = Encode(tokenizer, doc);
            Assert.True(e.AllSameLength, name);
            for (var i = 0; i < doc.Prompts.Count; i++)
            {
                // BABA: the IO is the second name; the encoded prompt holds the answer's token there.
                Assert.Equal(e.Answers[i][0], e.Clean[i, e.WordIdxs!["IO"]].ToInt64());
                Assert.Equal(e.WrongAnswers[i][0], e.Clean[i, e.WordIdxs["S2"]].ToInt64());
            }
        }
    }

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void Induction_OnLlama3QwenGemma_TheAnswerFollowsTheFirstOccurrence()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var doc = InductionTask.TextDataset(tokenizer, prompts: 32);
            var e = Encode(tokenizer, doc);
            Assert.True(e.AllSameLength, name);
            var offset = tokenizer.BosId is null ? 0 : 1;
            Assert.Equal(15 + offset, (int)e.Clean.shape[1]);
            for (var i = 0; i < doc.Prompts.Count; i++)
            {
                var row = e.Clean[i].data<long>().ToArray();
                var first = Array.IndexOf(row, row[^1]);
                Assert.True(first < row.Length - 1);
                Assert.Equal(e.Answers[i][0], row[first + 1]);
                var corrupt = e.Corrupt[i].data<long>().ToArray();
                Assert.Equal(e.WrongAnswers[i][0], corrupt[first + 1]);
                Assert.DoesNotContain(e.WrongAnswers[i][0], row);
            }
        }
    }

    [TokenizerFact("llama3.1", "qwen2.5", "gemma2")]
    public void GreaterThan_OnDigitSplittingVocabularies_IsRefusedNamingTheYearAndTokenizer()
    {
        foreach (var name in new[] { "llama3.1", "qwen2.5", "gemma2" })
        {
            using var tokenizer = Load(name);
            var e = Assert.Throws<AutoCircuitException>(() => GreaterThanTask.Generate(tokenizer, 8, seed: 0));
            Assert.StartsWith($"greater-than cannot be expressed with {tokenizer.Name}: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("\" 1732\" → ", e.Message, StringComparison.Ordinal);
        }
    }

    [TokenizerFact("gemma2", "llama3.1")]
    public void StoriesPronoun_OnBpeVocabularies_AnswersCarryTheLeadingSpace()
    {
        foreach (var name in new[] { "gemma2", "llama3.1" })
        {
            using var tokenizer = Load(name);
            var doc = StoriesPronounTask.Dataset(tokenizer);
            Assert.Equal([" she"], doc.Prompts[0].Answers.Texts!);
            Assert.Equal([" he"], doc.Prompts[0].WrongAnswers.Texts!);
            // Names differ in length (the story prompts are left-padded, as with stories260K).
            var e = Encode(tokenizer, doc, new TokenPadding(tokenizer.PadId ?? tokenizer.EosId!.Value, PadIsBos: false));
            Assert.Equal(tokenizer.Encode(" she").Single(), e.Answers[0][0]);
            Assert.Equal(tokenizer.Encode(" he").Single(), e.WrongAnswers[0][0]);
        }
    }

    [Fact]
    public void Induction_VocabularyWithoutTheWords_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => InductionTask.TextDataset(new Data.WordTokenizer()));

        Assert.StartsWith("induction cannot be expressed with word tokenizer (test): it needs 15 words that are one token after a space, and 0 of 48 are (e.g. \" apple\" → 5 tokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StoriesPronoun_VocabularyWithoutThePronoun_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => StoriesPronounTask.Dataset(new Data.WordTokenizer()));

        Assert.StartsWith("stories-pronoun cannot be expressed with word tokenizer (test): \"she\" is not one token after \"Lily was a little girl who loved to play. Every day,\"", e.Message, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2/model.safetensors")]
    public void Prepare_TokenizerWithoutBos_PromptsStartWithoutBos_WithBosWithIt()
    {
        var dataset = Path.Combine(_dir, "data.json");
        File.WriteAllText(dataset, """{"prompts": [{"clean": "hello world", "corrupt": "mary world", "answers": ["john"], "wrong_answers": ["mary"]}]}""");
        foreach (var withBos in new[] { false, true })
        {
            // fake-gpt2's weights (vocabulary 50257) with a small tokenizer.json of our own, with and without BOS.
            var folder = Path.Combine(_dir, withBos ? "bos" : "nobos");
            Directory.CreateDirectory(folder);
            foreach (var f in new[] { "config.json", "model.safetensors" })
            {
                File.Copy(Path.Combine(ModelFixtures.Shared("fake-gpt2")!, f), Path.Combine(folder, f));
            }

            var json = HfTokenizerTests.WordLevelJson(["hello", "world", "mary", "john"]);
            if (!withBos)
            {
                json["post_processor"] = null;
            }

            HfTokenizerTests.WriteFolder(folder, json, new System.Text.Json.Nodes.JsonObject { ["bos_token"] = withBos ? "<s>" : null });

            using var prepared = TaskSetup.Prepare(folder, dataset, task: null, new DataArguments(), TorchSharp.torch.CPU);

            Assert.IsType<HfTokenizer>(prepared.Loaded.Tokenizer);
            Assert.Equal(withBos, prepared.Options.PrependBos);
            var encoded = prepared.Encoder.Encode(prepared.Document, prepared.Document.Prompts);
            Assert.Equal(withBos ? [0L, 3, 4] : [3L, 4], encoded.Clean[0].data<long>().ToArray());
        }
    }

    [SharedModelFact("fake-gpt2/model.safetensors")]
    public async Task Run_InductionOnAGpt2Folder_UsesWordsOfItsVocabulary()
    {
        var outDir = Path.Combine(_dir, "induction");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AutoCircuit.Tool.Cli.CommandLine.InvokeAsync(
            ["run", "--task", "induction", "--model", ModelFixtures.Shared("fake-gpt2")!, "-a", "activation-magnitude", "--train-size", "32",
             "--test-size", "32", "--edges", "0,104", "--token-positions", "true", "--out", outDir],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        using var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Equal("induction", run.RootElement.GetProperty("data").GetProperty("task").GetString());
        Assert.StartsWith("induction task (generated from words", run.RootElement.GetProperty("data").GetProperty("dataset").GetString(), StringComparison.Ordinal);
        Assert.Equal(16, run.RootElement.GetProperty("graph").GetProperty("seq_len").GetInt32()); // BOS + 14 words + the repeat, in every prompt
    }
}
