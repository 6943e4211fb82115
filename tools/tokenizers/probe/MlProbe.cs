// Scratch probe (see run-probe.sh): not part of AutoCircuit.sln.
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

public static class MlMain
{
    public static void Main(string[] args)
    {
        var version = typeof(Tokenizer).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().First().InformationalVersion.Split('+')[0];
        Runner.Run($"ML.Tokenizers {version} Bpe", args[0], args[1], (f, e) => MlAdapter.Bpe(f, e), args[2] + ".bpe.json");
        Runner.Run($"ML.Tokenizers {version} Tiktoken", args[0], args[1], (f, e) => MlAdapter.Tiktoken(f, e), args[2] + ".tiktoken.json");
        Runner.Run($"ML.Tokenizers {version} Bpe-metaspace", args[0], args[1], (f, e) => MlAdapter.BpeMetaspace(f, e), args[2] + ".bpems.json");
        Runner.Run($"ML.Tokenizers {version} SentencePiece", args[0], args[1], (f, e) => MlAdapter.SentencePiece(f, e), args[2] + ".sp.json");
    }
}

/// <summary>Builds ML.Tokenizers objects from a Hugging Face tokenizer.json by hand (the library has no
/// generic tokenizer.json loader): vocab + merges, the pre-tokenizer's Split regex, added tokens.</summary>
public sealed class MlAdapter : ITokenizerUnderTest
{
    private readonly Tokenizer _tok;
    private readonly int[] _prefix;
    private readonly Func<string, bool, int[]>? _encode;
    private MlAdapter(Tokenizer tok, int[] prefix, Func<string, bool, int[]>? encode = null) { _tok = tok; _prefix = prefix; _encode = encode; }

    public int[] Encode(string text, bool addSpecial)
    {
        if (_encode is not null) return _encode(text, addSpecial);
        var ids = _tok.EncodeToIds(text, true, true).ToArray();
        return addSpecial ? _prefix.Concat(ids).ToArray() : ids;
    }
    public string Decode(int[] ids) => _tok.Decode(ids) ?? "";
    public bool DecodeSkipsSpecial => false;
    public void Dispose() { }

    private static JsonElement Load(string folder) => JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json"))).RootElement;

    private static Dictionary<string, int> AddedTokens(JsonElement root) =>
        root.GetProperty("added_tokens").EnumerateArray().ToDictionary(a => a.GetProperty("content").GetString()!, a => a.GetProperty("id").GetInt32());

    /// <summary>The Split regex of a byte-level pre-tokenizer (Sequence[Split, ByteLevel]); null if not that shape.</summary>
    private static string? SplitPattern(JsonElement root)
    {
        var pre = root.GetProperty("pre_tokenizer");
        if (pre.ValueKind != JsonValueKind.Object || pre.GetProperty("type").GetString() != "Sequence") return null;
        foreach (var p in pre.GetProperty("pretokenizers").EnumerateArray())
            if (p.GetProperty("type").GetString() == "Split" && p.GetProperty("pattern").TryGetProperty("Regex", out var rx)) return rx.GetString();
        return null;
    }

    private static int[] BosPrefix(Expected exp) =>
        exp.Summary.GetProperty("post_processor").GetString() is { } pp && pp.Contains("TemplateProcessing")
            ? new[] { exp.Summary.GetProperty("bos_token_id").GetInt32() } : Array.Empty<int>();

    private static Normalizer? NormalizerOf(JsonElement root) =>
        root.GetProperty("normalizer") is { ValueKind: JsonValueKind.Object } n && n.GetProperty("type").GetString() == "NFC" ? new NfcNormalizer() : null;

    public static ITokenizerUnderTest? Bpe(string folder, Expected exp)
    {
        var root = Load(folder);
        var pattern = SplitPattern(root);
        if (pattern is null) return null; // metaspace (gemma): not a byte-level BPE
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! :
            m[0].GetString() + " " + m[1].GetString()).ToList();
        var added = AddedTokens(root);
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            SpecialTokens = added,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), added),
            Normalizer = NormalizerOf(root),
        };
        return new MlAdapter(BpeTokenizer.Create(options), BosPrefix(exp));
    }

    /// <summary>tiktoken ranks from the byte-level vocabulary (GPT-2 byte-to-unicode map inverted), id = rank.</summary>
    public static ITokenizerUnderTest? Tiktoken(string folder, Expected exp)
    {
        var root = Load(folder);
        var pattern = SplitPattern(root);
        if (pattern is null) return null;
        var unicodeToByte = ByteLevelAlphabet().ToDictionary(kv => kv.Value, kv => kv.Key);
        var added = AddedTokens(root);
        var sb = new StringBuilder();
        foreach (var p in root.GetProperty("model").GetProperty("vocab").EnumerateObject())
        {
            if (added.ContainsKey(p.Name)) continue;
            var bytes = p.Name.Select(ch => unicodeToByte[ch]).ToArray();
            sb.Append(Convert.ToBase64String(bytes)).Append(' ').Append(p.Value.GetInt32()).Append('\n');
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(sb.ToString()));
        var tok = TiktokenTokenizer.Create(stream, new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), added),
            NormalizerOf(root), added);
        return new MlAdapter(tok, BosPrefix(exp));
    }

    /// <summary>Gemma-style BPE: normalizer " " -> "▁", no real pre-tokenization (the Split on " " finds
    /// nothing after normalization), byte fallback &lt;0xNN&gt; (which BpeTokenizer lacks: unknown chars become unk).</summary>
    public static ITokenizerUnderTest? BpeMetaspace(string folder, Expected exp)
    {
        var root = Load(folder);
        if (SplitPattern(root) is not null) return null;
        var model = root.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.ValueKind == JsonValueKind.String ? m.GetString()! :
            m[0].GetString() + " " + m[1].GetString()).ToList();
        var added = AddedTokens(root);
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = added,
            UnknownToken = "<unk>",
            FuseUnknownTokens = true,
            PreTokenizer = new RegexPreTokenizer(new Regex("(?s).+", RegexOptions.Compiled), added),
            Normalizer = new ReplaceNormalizer(" ", "\u2581"),
        };
        return new MlAdapter(BpeTokenizer.Create(options), BosPrefix(exp));
    }

    public static ITokenizerUnderTest? SentencePiece(string folder, Expected exp)
    {
#if ML3
        var root = Load(folder);
        if (SplitPattern(root) is not null) return null; // byte-level BPE: not a SentencePiece file
        var added = AddedTokens(root);
        using var s = File.OpenRead(Path.Combine(folder, "tokenizer.json"));
        var tok = SentencePieceTokenizer.CreateFromTokenizerJson(s, true, false, added);
        return new MlAdapter(tok, Array.Empty<int>(), (text, addSpecial) =>
            tok.EncodeToIds(text, addSpecial, false, true, true).ToArray());
#else
        return null; // 2.x: SentencePiece needs the .model protobuf (LlamaTokenizer.Create), which these packages do not ship
#endif
    }

    private static Dictionary<byte, char> ByteLevelAlphabet()
    {
        var bs = new List<int>();
        for (int b = '!'; b <= '~'; b++) bs.Add(b);
        for (int b = 0xA1; b <= 0xAC; b++) bs.Add(b);
        for (int b = 0xAE; b <= 0xFF; b++) bs.Add(b);
        var cs = new List<int>(bs);
        int n = 0;
        for (int b = 0; b < 256; b++)
            if (!bs.Contains(b)) { bs.Add(b); cs.Add(256 + n++); }
        return bs.Zip(cs).ToDictionary(p => (byte)p.First, p => (char)p.Second);
    }
}

sealed class NfcNormalizer : Normalizer
{
    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);
    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
}

sealed class ReplaceNormalizer(string from, string to) : Normalizer
{
    public override string Normalize(string original) => original.Replace(from, to);
    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Replace(from, to);
}
