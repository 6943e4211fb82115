using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Tokenizers;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// tokenizer.json through Tokenizers.DotNet: the special-token handling we add (BOS from tokenizer_config.json, the
/// post-processor's tokens cut off, decoding with special tokens) on small tokenizer.json files written here, and
/// identical ids to the JavaScript reference (@huggingface/transformers) on the real Llama-3, Qwen and Gemma vocabularies.
/// </summary>
public sealed class HfTokenizerTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-hftok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A word-level tokenizer.json (Hugging Face's format, every field the Rust library reads): <c>&lt;s&gt; $A &lt;/s&gt;</c>
    /// as its template, whitespace pre-tokenizer; ids 0..2 special, then the words.
    /// </summary>
    internal static JsonObject WordLevelJson(string[] words, JsonNode? postProcessor = null, JsonNode? truncation = null)
    {
        string[] specials = ["<s>", "</s>", "<unk>"];
        var vocab = new JsonObject();
        foreach (var (w, i) in specials.Concat(words).Select((w, i) => (w, i)))
        {
            vocab[w] = i;
        }

        JsonObject Special(string s) => new() { ["SpecialToken"] = new JsonObject { ["id"] = s, ["type_id"] = 0 } };
        JsonObject SeqA() => new() { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } };
        JsonObject SpecialEntry(string s, int id) => new() { ["id"] = s, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(s) };
        postProcessor ??= new JsonObject
        {
            ["type"] = "TemplateProcessing",
            ["single"] = new JsonArray(Special("<s>"), SeqA(), Special("</s>")),
            ["pair"] = new JsonArray(Special("<s>"), SeqA(), Special("</s>"), SeqA(), Special("</s>")),
            ["special_tokens"] = new JsonObject { ["<s>"] = SpecialEntry("<s>", 0), ["</s>"] = SpecialEntry("</s>", 1) },
        };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = truncation,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(specials.Select((s, i) => (JsonNode)new JsonObject
            {
                ["id"] = i,
                ["content"] = s,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" },
            ["post_processor"] = postProcessor,
            ["decoder"] = null,
            ["model"] = new JsonObject { ["type"] = "WordLevel", ["vocab"] = vocab, ["unk_token"] = "<unk>" },
        };
    }

    /// <summary>Writes a tokenizer folder: tokenizer.json and (when given) tokenizer_config.json.</summary>
    internal static string WriteFolder(string dir, JsonObject tokenizer, JsonObject? config)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        }

        return dir;
    }

    private static readonly string[] Words = ["hello", "world", "mary", "john"];

    [Fact]
    public void Encode_CutsTheTemplatesTokens_EncodeWithSpecialTokensKeepsThem()
    {
        var folder = WriteFolder(Path.Combine(_dir, "t"), WordLevelJson(Words), new JsonObject { ["bos_token"] = "<s>", ["eos_token"] = new JsonObject { ["content"] = "</s>" } });
        using var tokenizer = HfTokenizer.Load(folder);

        Assert.Equal([3, 4], tokenizer.Encode("hello world"));
        Assert.Equal([0, 3, 4, 1], tokenizer.EncodeWithSpecialTokens("hello world"));
        Assert.Equal([0, 1], tokenizer.EncodeWithSpecialTokens(string.Empty));
        Assert.Empty(tokenizer.Encode(string.Empty));
        Assert.Equal([2, 5], tokenizer.Encode("nobody mary")); // unknown word -> <unk>
        Assert.Equal(0, tokenizer.BosId);
        Assert.Equal(1, tokenizer.EosId);
        Assert.Null(tokenizer.PadId);
        Assert.True(tokenizer.AddsBos);
        Assert.Equal(7, tokenizer.VocabSize);
        // A special token written in the text is the text's: only the template's are cut off.
        Assert.Equal([0, 3], tokenizer.Encode("<s> hello"));
        Assert.Equal([0, 0, 3, 1], tokenizer.EncodeWithSpecialTokens("<s> hello"));
    }

    [Fact]
    public void Decode_SkipsSpecialTokens_DecodeWithSpecialTokensWritesThem()
    {
        var folder = WriteFolder(Path.Combine(_dir, "t"), WordLevelJson(Words), new JsonObject { ["bos_token"] = "<s>" });
        using var tokenizer = HfTokenizer.Load(folder);

        Assert.Equal("hello world", tokenizer.Decode([0, 3, 4, 1]));
        Assert.Equal("<s>hello world</s>", tokenizer.DecodeWithSpecialTokens([0, 3, 4, 1]));
        Assert.Equal("<s>", tokenizer.TokenText(0));
        Assert.Equal("mary", tokenizer.TokenText(5));
        var e = Assert.Throws<AutoCircuitException>(() => tokenizer.Decode([3, 7]));
        Assert.Contains("token id 7 is outside the vocabulary", e.Message, StringComparison.Ordinal);
        Assert.Throws<AutoCircuitException>(() => tokenizer.DecodeWithSpecialTokens([-1]));
    }

    [Fact]
    public void Config_LlamaClass_AddBosAndEosTokenDecideTheSpecialTokens()
    {
        // Python's LlamaTokenizerFast rebuilds its template from add_bos_token / add_eos_token, whatever tokenizer.json says.
        var folder = WriteFolder(
            Path.Combine(_dir, "llama"),
            WordLevelJson(Words),
            new JsonObject { ["tokenizer_class"] = "LlamaTokenizerFast", ["add_bos_token"] = false, ["add_eos_token"] = true, ["bos_token"] = "<s>", ["eos_token"] = "</s>" });
        using var tokenizer = HfTokenizer.Load(folder);

        Assert.False(tokenizer.AddsBos);
        Assert.Equal([3, 1], tokenizer.EncodeWithSpecialTokens("hello"));
        Assert.Equal([3], tokenizer.Encode("hello"));
        Assert.Equal(0, tokenizer.BosId);
    }

    [Fact]
    public void Config_Absent_BosIsTheTemplatesFirstToken()
    {
        var folder = WriteFolder(Path.Combine(_dir, "noconfig"), WordLevelJson(Words), config: null);
        using var tokenizer = HfTokenizer.Load(Path.Combine(folder, "tokenizer.json"));

        Assert.Equal(0, tokenizer.BosId);
        Assert.Null(tokenizer.EosId);
    }

    [Fact]
    public void PostProcessor_None_NoSpecialTokensAndNoBos()
    {
        var json = WordLevelJson(Words);
        json["post_processor"] = null;
        var folder = WriteFolder(Path.Combine(_dir, "none"), json, new JsonObject { ["bos_token"] = null, ["eos_token"] = "</s>" });
        using var tokenizer = HfTokenizer.Load(folder);

        Assert.Equal([3, 4], tokenizer.EncodeWithSpecialTokens("hello world"));
        Assert.Null(tokenizer.BosId);
        Assert.False(tokenizer.AddsBos);
    }

    [Fact]
    public void Truncation_InTheFile_DoesNotCutPrompts()
    {
        var truncation = new JsonObject { ["direction"] = "Right", ["max_length"] = 2, ["strategy"] = "LongestFirst", ["stride"] = 0 };
        var folder = WriteFolder(Path.Combine(_dir, "trunc"), WordLevelJson(Words, truncation: truncation), new JsonObject { ["bos_token"] = "<s>" });
        using var tokenizer = HfTokenizer.Load(folder);

        Assert.Equal([3, 4, 5, 6, 3], tokenizer.Encode("hello world mary john hello"));
    }

    [Fact]
    public void Load_BadInput_IsAClearError()
    {
        var e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(Path.Combine(_dir, "absent.json")));
        Assert.Contains("tokenizer file not found", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("no tokenizer.json in this folder", e.Message, StringComparison.Ordinal);

        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{\"model\": ");
        e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(bad));
        Assert.Contains("not a readable tokenizer.json", e.Message, StringComparison.Ordinal);

        File.WriteAllText(bad, "{\"vocab\": {}}");
        e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(bad));
        Assert.Contains("not a Hugging Face tokenizer.json (no \"model\" object)", e.Message, StringComparison.Ordinal);

        var odd = WordLevelJson(Words, postProcessor: new JsonObject { ["type"] = "FancyProcessing" });
        var folder = WriteFolder(Path.Combine(_dir, "odd"), odd, null);
        e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(folder));
        Assert.Contains("post_processor type 'FancyProcessing' is not supported", e.Message, StringComparison.Ordinal);

        folder = WriteFolder(Path.Combine(_dir, "badbos"), WordLevelJson(Words), new JsonObject { ["bos_token"] = "<bos>" });
        e = Assert.Throws<AutoCircuitException>(() => HfTokenizer.Load(folder));
        Assert.Contains("bos_token '<bos>' is not a token of", e.Message, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2/tokenizer.json")]
    public void Gpt2TokenizerJson_EqualsTheBuiltInGpt2Tokenizer()
    {
        using var fromJson = HfTokenizer.Load(ModelFixtures.Shared("fake-gpt2")!);
        var builtIn = Gpt2Tokenizer.BuiltIn();
        string[] texts =
        [
            "When Mary and John went to the store, John gave a drink to", "Hello world", "<|endoftext|>When Mary",
            "The war lasted from the year 1732 to the year 17", "  spaces,\ttabs\nand naïve café 😀 ümlauts's 'quotes' don't",
        ];

        foreach (var text in texts)
        {
            Assert.Equal(builtIn.Encode(text), fromJson.Encode(text));
            Assert.Equal(builtIn.Decode(builtIn.Encode(text)), fromJson.Decode(fromJson.Encode(text)));
        }

        Assert.Equal(50256, fromJson.BosId);
        Assert.Equal(50257, fromJson.VocabSize);
        Assert.Equal(" Mary", fromJson.TokenText(5335));
    }

    [SharedModelFact("fake-gpt2/tokenizer.json")]
    public void ModelFolder_WithTokenizerJson_UsesIt()
    {
        using var loaded = ModelCatalog.Load(ModelFixtures.Shared("fake-gpt2"), TorchSharp.torch.CPU);

        var tokenizer = Assert.IsType<HfTokenizer>(loaded.Tokenizer);
        Assert.EndsWith("tokenizer.json", tokenizer.Path, StringComparison.Ordinal);
    }

    [TokenizerFact("llama3")]
    public void Llama3_IdsAndTextEqualTheJavaScriptReference() => AssertReference("llama3");

    [TokenizerFact("llama3.1")]
    public void Llama31_IdsAndTextEqualTheJavaScriptReference() => AssertReference("llama3.1");

    [TokenizerFact("qwen2.5")]
    public void Qwen25_IdsAndTextEqualTheJavaScriptReference() => AssertReference("qwen2.5");

    [TokenizerFact("qwen3")]
    public void Qwen3_IdsAndTextEqualTheJavaScriptReference() => AssertReference("qwen3");

    [TokenizerFact("gemma2")]
    public void Gemma2_IdsAndTextEqualTheJavaScriptReference() => AssertReference("gemma2");

    [TokenizerFact("gemma3")]
    public void Gemma3_IdsAndTextEqualTheJavaScriptReference() => AssertReference("gemma3");

    /// <summary>
    /// Every string of the fixture: ids (special tokens as tokenizer.encode adds them), ids without special tokens, decode
    /// with special tokens kept and skipped, all identical to the JavaScript reference; BOS/EOS as its summary says.
    /// </summary>
    private void AssertReference(string name)
    {
        var folder = TokenizerFixtures.Folder(name)!;
        using var expected = TokenizerFixtures.Expected(name);
        TokenizerFixtures.AssertSameFile(folder, expected);
        using var tokenizer = HfTokenizer.Load(folder);
        var cases = expected.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 50, $"{name}: {cases.Count} strings");
        var mismatches = new List<string>();
        int ids = 0, plain = 0, decoded = 0, skipped = 0;
        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        foreach (var c in cases)
        {
            var text = c.GetProperty("text").GetString()!;
            var wantIds = Ints(c.GetProperty("ids"));
            var got = tokenizer.EncodeWithSpecialTokens(text).ToArray();
            Count(ref ids, wantIds.SequenceEqual(got), "ids", string.Join(',', wantIds), string.Join(',', got));
            var wantPlain = Ints(c.GetProperty("ids_no_special"));
            var gotPlain = tokenizer.Encode(text).ToArray();
            Count(ref plain, wantPlain.SequenceEqual(gotPlain), "ids_no_special", string.Join(',', wantPlain), string.Join(',', gotPlain));
            var wantDecoded = c.GetProperty("decoded").GetString();
            var gotDecoded = tokenizer.DecodeWithSpecialTokens(wantIds);
            Count(ref decoded, wantDecoded == gotDecoded, "decoded", wantDecoded, gotDecoded);
            var wantSkipped = c.GetProperty("decoded_skip_special").GetString();
            var gotSkipped = tokenizer.Decode(wantIds);
            Count(ref skipped, wantSkipped == gotSkipped, "decoded_skip_special", wantSkipped, gotSkipped);

            void Count(ref int n, bool same, string what, string? want, string? have)
            {
                if (same)
                {
                    n++;
                }
                else
                {
                    mismatches.Add($"{JsonSerializer.Serialize(text)} {what}: reference {JsonSerializer.Serialize(want)}, ours {JsonSerializer.Serialize(have)}");
                }
            }
        }

        log.WriteLine($"{name}: identical to the JavaScript reference: ids {ids}/{cases.Count}, ids without special tokens {plain}/{cases.Count}, " +
                      $"decode {decoded}/{cases.Count}, decode skipping special tokens {skipped}/{cases.Count}");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));

        var summary = expected.RootElement.GetProperty("summary");
        Assert.Equal(summary.GetProperty("bos_token_id") is { ValueKind: JsonValueKind.Number } b ? b.GetInt32() : null, tokenizer.BosId);
        Assert.Equal(summary.GetProperty("eos_token_id") is { ValueKind: JsonValueKind.Number } e ? e.GetInt32() : null, tokenizer.EosId);
        Assert.True(tokenizer.VocabSize >= summary.GetProperty("vocab_size").GetInt32());
    }
}
