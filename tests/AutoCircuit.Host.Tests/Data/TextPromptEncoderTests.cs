using System.Text;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Tokenizers;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Data;

/// <summary>Text datasets as auto-circuit's load_datasets_from_json encodes them.</summary>
public sealed class TextPromptEncoderTests
{
    private static readonly TokenPadding Gpt2Padding = new(50256, PadIsBos: true);

    private static DatasetDocument Parse(string json) => DatasetDocument.Parse(Encoding.UTF8.GetBytes(json), "text.json");

    private static long[][] Rows(TorchSharp.torch.Tensor t) =>
        Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<long>().ToArray()).ToArray();

    private const string TwoPrompts = """
        {"prompts": [
          {"clean": "When Mary and John went to the store, John gave a drink to", "corrupt": "When Alice and Bob went to the store, Sam gave a drink to",
           "answers": [" Mary"], "wrong_answers": [" John"]},
          {"clean": "Hello world", "corrupt": "Hello there", "answers": [" Mary", " John"], "wrong_answers": [15496]}
        ],
         "seq_labels": ["a", "b"], "word_idxs": {"IO": 1, "end": 13}}
        """;

    [Fact]
    public void Encode_Gpt2_PrependsBosLeftPadsToLongestAndTokenizesAnswers()
    {
        var doc = Parse(TwoPrompts);
        var encoder = new TextPromptEncoder(Gpt2Tokenizer.BuiltIn(), Gpt2Padding);

        var e = encoder.Encode(doc, doc.Prompts);

        // PLATFORM.md's ids for the first prompt; "Hello world" is [15496, 995].
        long[] ioi = [50256, 2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284];
        var clean = Rows(e.Clean);
        Assert.Equal(ioi, clean[0]);
        Assert.Equal([.. Enumerable.Repeat(50256L, 12), 50256, 15496, 995], clean[1]); // 12 pads, then BOS
        Assert.Equal(15, e.Corrupt.shape[1]);
        Assert.Equal(50256, Rows(e.Corrupt)[1][0]);
        Assert.False(e.AllSameLength);
        Assert.Equal([5335L], e.Answers[0]); // " Mary"
        Assert.Equal([5335L, 1757L], e.Answers[1]);
        Assert.Equal([15496L], e.WrongAnswers[1]); // ids pass through
        Assert.Equal(["<|BOS|>", "a", "b"], e.SeqLabels!);
        Assert.Equal(2, e.WordIdxs!["IO"]);
        Assert.Equal(14, e.WordIdxs["end"]);
    }

    [Fact]
    public void Encode_NoPrependBos_KeepsTextTokensAndLabels()
    {
        var doc = Parse(TwoPrompts);
        var encoder = new TextPromptEncoder(Gpt2Tokenizer.BuiltIn(), Gpt2Padding with { PadIsBos = false }, prependBos: false);

        var e = encoder.Encode(doc, doc.Prompts);

        Assert.Equal(14, e.Clean.shape[1]);
        Assert.Equal(2215, Rows(e.Clean)[0][0]);
        Assert.Equal(["a", "b"], e.SeqLabels!);
        Assert.Equal(1, e.WordIdxs!["IO"]);
    }

    [Fact]
    public void Encode_MultiTokenAnswer_NamesPromptAnswerAndItsTokens()
    {
        var doc = Parse("""
            {"prompts": [
              {"clean": "the cat", "corrupt": "the dog", "answers": ["sat"], "wrong_answers": ["ran"]},
              {"clean": "the cat", "corrupt": "the dog", "answers": ["sat"], "wrong_answers": ["ab+cd"]}
            ]}
            """);
        var encoder = new TextPromptEncoder(new WordTokenizer(), new TokenPadding(2, false));

        var e = Assert.Throws<DatasetException>(() => encoder.Encode(doc, doc.Prompts));

        Assert.Equal(
            "text.json: prompts[1].wrong_answers[0] \"ab+cd\" is 2 tokens ([32 \" ab\", 33 \" cd\"]) with word tokenizer (test); " +
            "every answer must be exactly one token.",
            e.Message);
    }

    [Fact]
    public void Encode_Gpt2MultiTokenAnswer_ShowsTheGpt2Pieces()
    {
        var doc = Parse("""{"prompts": [{"clean": "Hello", "corrupt": "Hi", "answers": [" Quetzalcoatl"], "wrong_answers": [" Mary"]}]}""");
        var tokenizer = Gpt2Tokenizer.BuiltIn();
        var ids = tokenizer.Encode(" Quetzalcoatl");
        Assert.True(ids.Count > 1, "the test needs a multi-token name");

        var e = Assert.Throws<DatasetException>(() => new TextPromptEncoder(tokenizer, Gpt2Padding).Encode(doc, doc.Prompts));

        Assert.Contains($"prompts[0].answers[0] \" Quetzalcoatl\" is {ids.Count} tokens ([{ids[0]} \"{tokenizer.TokenText(ids[0])}\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_PromptsOfDifferentLengthWithoutPadding_IsAnError()
    {
        var doc = Parse("""{"prompts": [{"clean": "the cat sat", "corrupt": "the dog", "answers": ["on"], "wrong_answers": ["to"]}]}""");

        var e = Assert.Throws<DatasetException>(() => new TextPromptEncoder(new WordTokenizer(), padding: null).Encode(doc, doc.Prompts));

        Assert.Contains("prompts differ in length (e.g. prompts[0]) and the model has no padding token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_TokenizerWithoutBos_AsksForNoPrependBos()
    {
        var doc = Parse("""{"prompts": [{"clean": "the cat", "corrupt": "the dog", "answers": ["on"], "wrong_answers": ["to"]}]}""");

        var e = Assert.Throws<DatasetException>(() => new TextPromptEncoder(new WordTokenizer(bos: null), null).Encode(doc, doc.Prompts));

        Assert.Equal("text.json: word tokenizer (test) has no BOS token to prepend; use --no-prepend-bos.", e.Message);
    }

    [Fact]
    public void Build_TokenPositionsWithPromptsOfDifferentLength_IsAnError()
    {
        var doc = Parse("""
            {"prompts": [
              {"clean": "the cat sat", "corrupt": "the dog ran", "answers": ["on"], "wrong_answers": ["to"]},
              {"clean": "the cat", "corrupt": "the dog", "answers": ["on"], "wrong_answers": ["to"]}
            ]}
            """);
        var encoder = new TextPromptEncoder(new WordTokenizer(), new TokenPadding(2, false));

        var e = Assert.Throws<DatasetException>(() =>
            TaskData.Build(doc, new DataOptions(1, 1, 1, Shuffle: false, TokenPositions: true), encoder, 50, torch.CPU));

        Assert.Contains("--token-positions needs every prompt to have the same length", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_EqualLengthTextPrompts_TokenPositionsCountTheBos()
    {
        var doc = Parse("""
            {"prompts": [
              {"clean": "the cat sat", "corrupt": "the dog ran", "answers": ["on"], "wrong_answers": ["to"]},
              {"clean": "a big ball", "corrupt": "a red ball", "answers": ["on"], "wrong_answers": ["to"]}
            ], "seq_labels": ["x", "y", "z"]}
            """);
        var encoder = new TextPromptEncoder(new WordTokenizer(), new TokenPadding(2, false));

        using var data = TaskData.Build(doc, new DataOptions(1, 1, 1, Shuffle: false, TokenPositions: true), encoder, 50, torch.CPU);

        Assert.Equal(4, data.SeqLen);
        Assert.Equal(["<|BOS|>", "x", "y", "z"], data.SeqLabels!);
        Assert.Equal([1L, 3, 4, 5], data.Train[0].Clean[0].data<long>().ToArray());
    }

    [Fact]
    public void Encode_IoiAndGreaterThanPrompts_MatchIdsDerivedFromTheTiktokenData()
    {
        using var fixture = TestFixtures.Load(Path.Combine("tasks", "gpt2_task_ids.json"));
        var builtIn = Gpt2Tokenizer.BuiltIn();
        var checkedTexts = 0;

        foreach (var item in fixture.RootElement.GetProperty("texts").EnumerateArray())
        {
            var text = item.GetProperty("text").GetString()!;
            var expected = item.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(expected, builtIn.Encode(text));
            checkedTexts++;
        }

        Assert.True(checkedTexts >= 30, $"only {checkedTexts} texts in the fixture");
    }

    [Fact]
    public void Encode_FixtureTexts_AreWhatTheGeneratorsMakeForSeedZero()
    {
        using var fixture = TestFixtures.Load(Path.Combine("tasks", "gpt2_task_ids.json"));
        var texts = fixture.RootElement.GetProperty("texts").EnumerateArray().Select(x => x.GetProperty("text").GetString()!).ToHashSet();
        var tokenizer = Gpt2Tokenizer.BuiltIn();

        var generated = new List<string>();
        for (var t = 0; t < AutoCircuit.Host.Tasks.IoiTask.Templates.Count; t++)
        {
            foreach (var p in AutoCircuit.Host.Tasks.IoiTask.Generate(tokenizer, 2, AutoCircuit.Host.Tasks.IoiPattern.Mixed, t, seed: 0).Prompts)
            {
                generated.AddRange([p.Clean.Text!, p.Corrupt.Text!, .. p.Answers.Texts!, .. p.WrongAnswers.Texts!]);
            }
        }

        foreach (var p in AutoCircuit.Host.Tasks.GreaterThanTask.Generate(tokenizer, 2, seed: 0).Prompts)
        {
            generated.AddRange([p.Clean.Text!, p.Corrupt.Text!]);
        }

        Assert.Equal(texts, generated.ToHashSet());
    }
}
