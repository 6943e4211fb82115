using System.Text.Json;
using AutoCircuit.Engine;
using NativeTokenizer = Tokenizers.DotNet.Tokenizer;
using NativeTokenizerException = Tokenizers.DotNet.TokenizerException;

namespace AutoCircuit.Models.Tokenizers;

/// <summary>
/// A Hugging Face "fast" tokenizer (<c>tokenizer.json</c>) through Tokenizers.DotNet, a binding of Hugging Face's
/// own Rust <c>tokenizers</c>: every normalizer, pre-tokenizer, model (BPE with byte-level or metaspace pieces and
/// byte fallback, Unigram, WordPiece), added token and decoder is handled by the same code Python's
/// <c>PreTrainedTokenizerFast</c> runs. What the binding lacks we do here, from the files themselves:
/// <list type="bullet">
/// <item><see cref="Encode"/> without special tokens: the binding always applies the post-processor, so the tokens
/// its template adds (<c>&lt;bos&gt; $A</c>, <c>[CLS] $A [SEP]</c>) are read from <c>tokenizer.json</c> and cut
/// off again.</item>
/// <item>BOS, EOS and pad from <c>tokenizer_config.json</c> (or <c>special_tokens_map.json</c>), and whether
/// <see cref="EncodeWithSpecialTokens"/> adds BOS/EOS: the post-processor decides, as in Python's
/// <c>PreTrainedTokenizerFast</c> and transformers.js, except for the tokenizer classes whose Python fast
/// tokenizer rebuilds the template from <c>add_bos_token</c>/<c>add_eos_token</c> (Llama, CodeLlama, Gemma).</item>
/// <item>The vocabulary size, the special tokens, and decoding that keeps them (<see cref="DecodeWithSpecialTokens"/>).</item>
/// </list>
/// </summary>
internal sealed class HfTokenizer : ITokenizer, IDisposable
{
    /// <summary>The runtime package that carries the native library for this machine.</summary>
    public const string NativePackage = "Tokenizers.DotNet.runtime.linux-x64";

    /// <summary>Python tokenizer classes whose fast tokenizer builds its post-processor from <c>add_bos_token</c> / <c>add_eos_token</c>.</summary>
    private static readonly HashSet<string> TemplateFromConfigClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
    };

    private readonly NativeTokenizer _native;
    private readonly int[] _prefix;
    private readonly int[] _suffix;
    private readonly int[] _defaultPrefix;
    private readonly int[] _defaultSuffix;
    private readonly Dictionary<int, string> _special;

    private HfTokenizer(NativeTokenizer native, TokenizerJson json, TokenizerConfig config, string path)
    {
        _native = native;
        _prefix = json.Prefix;
        _suffix = json.Suffix;
        _special = json.Added.Where(a => a.Special).GroupBy(a => a.Id).ToDictionary(g => g.Key, g => g.First().Content);
        VocabSize = json.VocabSize;
        int? Id(string? content, string field) => content is null
            ? null
            : json.IdOf(content) ?? throw new AutoCircuitException(
                $"{config.Path}: {field} '{content}' is not a token of {path}.");
        BosId = Id(config.Bos, "bos_token") ?? (_prefix.Length > 0 && config.Path is null ? _prefix[0] : null);
        EosId = Id(config.Eos, "eos_token");
        PadId = Id(config.Pad, "pad_token");
        if (config.TokenizerClass is { } cls && TemplateFromConfigClasses.Contains(cls))
        {
            // Python's LlamaTokenizerFast / GemmaTokenizerFast: "<bos>? $A <eos>?" from the config (BOS by default).
            AddsBos = (config.AddBos ?? true) && BosId is not null;
            _defaultPrefix = AddsBos && BosId is int b ? [b] : [];
            _defaultSuffix = config.AddEos == true && EosId is int e ? [e] : [];
        }
        else
        {
            _defaultPrefix = _prefix;
            _defaultSuffix = _suffix;
            AddsBos = BosId is int b && _prefix.Contains(b);
        }

        Name = $"tokenizer.json ({path})";
        Path = path;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The <c>tokenizer.json</c> read.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public int? BosId { get; }

    /// <inheritdoc />
    public int? EosId { get; }

    /// <inheritdoc />
    public int? PadId { get; }

    /// <summary>Whether <see cref="EncodeWithSpecialTokens"/> starts with BOS (what the model saw in training, usually).</summary>
    public bool AddsBos { get; }

    /// <summary>The special (added) tokens, id → text, e.g. <c>128000 → &lt;|begin_of_text|&gt;</c>.</summary>
    public IReadOnlyDictionary<int, string> SpecialTokens => _special;

    /// <summary>
    /// Reads <paramref name="path"/>: a <c>tokenizer.json</c>, or a folder holding one; <c>tokenizer_config.json</c>
    /// and <c>special_tokens_map.json</c> beside it are read when present.
    /// </summary>
    /// <exception cref="AutoCircuitException">Missing or unreadable files, an unsupported post-processor, or the native
    /// library missing.</exception>
    public static HfTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = Directory.Exists(path) ? System.IO.Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file))
        {
            throw new AutoCircuitException(Directory.Exists(path)
                ? $"{path}: no tokenizer.json in this folder."
                : $"{path}: tokenizer file not found.");
        }

        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!;
        var json = TokenizerJson.Read(file);
        var config = TokenizerConfig.Read(folder);
        var native = OpenNative(file, json.NeedsSanitizing);
        try
        {
            return new HfTokenizer(native, json, config, file);
        }
        catch
        {
            native.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        var raw = Raw(text);
        var end = raw.Length - _suffix.Length;
        if (end < _prefix.Length || !raw.AsSpan(0, _prefix.Length).SequenceEqual(_prefix) || !raw.AsSpan(end).SequenceEqual(_suffix))
        {
            throw new InvalidOperationException(
                $"{Name}: the post-processor did not add [{string.Join(',', _prefix)}] $A [{string.Join(',', _suffix)}] as its template says.");
        }

        return raw[_prefix.Length..end];
    }

    /// <summary>
    /// The ids Hugging Face's <c>tokenizer.encode(text)</c> gives (<c>add_special_tokens=True</c>): the post-processor's
    /// BOS/EOS (or, for Llama and Gemma tokenizer classes, those <c>tokenizer_config.json</c> asks for) around
    /// <see cref="Encode"/>.
    /// </summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) => [.. _defaultPrefix, .. Encode(text), .. _defaultSuffix];

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return _native.Decode(Checked(ids).Select(i => (uint)i).ToArray());
    }

    /// <summary>
    /// The text of <paramref name="ids"/> with special tokens written out (<c>skip_special_tokens=False</c>): the runs
    /// between special tokens are decoded, the special tokens inserted as their text.
    /// </summary>
    public string DecodeWithSpecialTokens(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new System.Text.StringBuilder();
        var run = new List<uint>();
        foreach (var id in Checked(ids))
        {
            if (_special.TryGetValue(id, out var content))
            {
                text.Append(_native.Decode([.. run])).Append(content);
                run.Clear();
            }
            else
            {
                run.Add((uint)id);
            }
        }

        return text.Append(_native.Decode([.. run])).ToString();
    }

    /// <inheritdoc />
    public string TokenText(int id) => _special.TryGetValue(id, out var content) ? content : Decode([id]);

    /// <inheritdoc />
    public void Dispose() => _native.Dispose();

    private int[] Raw(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Array.ConvertAll(_native.Encode(text), u => (int)u);
    }

    private List<int> Checked(IEnumerable<int> ids)
    {
        var list = ids.ToList();
        foreach (var id in list)
        {
            if (id < 0 || id >= VocabSize)
            {
                throw new AutoCircuitException($"token id {id} is outside the vocabulary of {Name} (0..{VocabSize - 1}).");
            }
        }

        return list;
    }

    private static NativeTokenizer OpenNative(string file, bool sanitize)
    {
        string? copy = null;
        try
        {
            if (sanitize)
            {
                // The binding has no switch for truncation and padding: load a copy without them (ids are never cut).
                copy = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"autocircuit-tokenizer-{Guid.NewGuid():N}.json");
                TokenizerJson.WriteWithoutTruncationAndPadding(file, copy);
            }

            return new NativeTokenizer(vocabPath: copy ?? file);
        }
        catch (NativeTokenizerException e)
        {
            throw new AutoCircuitException($"{file}: not a readable tokenizer.json ({e.Message}).", e);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException or EntryPointNotFoundException)
        {
            throw new AutoCircuitException(
                $"{file}: the native Hugging Face tokenizers library could not be loaded ({e.Message}); it comes with the NuGet package " +
                $"{NativePackage} (other platforms need their own Tokenizers.DotNet.runtime.<rid> package).",
                e);
        }
        finally
        {
            if (copy is not null)
            {
                File.Delete(copy);
            }
        }
    }

    /// <summary>What we need from <c>tokenizer.json</c> besides what the native library reads.</summary>
    private sealed record TokenizerJson(
        List<(int Id, string Content, bool Special)> Added,
        Dictionary<string, int> AddedIds,
        Dictionary<string, int>? Vocab,
        int VocabSize,
        int[] Prefix,
        int[] Suffix,
        bool NeedsSanitizing)
    {
        public int? IdOf(string content) =>
            AddedIds.TryGetValue(content, out var id) ? id : Vocab is not null && Vocab.TryGetValue(content, out var v) ? v : null;

        public static TokenizerJson Read(string file)
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file), new JsonDocumentOptions { MaxDepth = 256 });
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                {
                    throw new AutoCircuitException($"{file}: not a Hugging Face tokenizer.json (no \"model\" object).");
                }

                var added = new List<(int, string, bool)>();
                var addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
                var maxId = -1;
                if (root.TryGetProperty("added_tokens", out var tokens) && tokens.ValueKind == JsonValueKind.Array)
                {
                    foreach (var t in tokens.EnumerateArray())
                    {
                        var id = t.GetProperty("id").GetInt32();
                        var content = t.GetProperty("content").GetString()!;
                        var special = t.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                        added.Add((id, content, special));
                        addedIds.TryAdd(content, id);
                        maxId = Math.Max(maxId, id);
                    }
                }

                Dictionary<string, int>? vocab = null;
                if (model.TryGetProperty("vocab", out var v))
                {
                    if (v.ValueKind == JsonValueKind.Object)
                    {
                        vocab = new Dictionary<string, int>(StringComparer.Ordinal);
                        foreach (var p in v.EnumerateObject())
                        {
                            var id = p.Value.GetInt32();
                            vocab.TryAdd(p.Name, id);
                            maxId = Math.Max(maxId, id);
                        }
                    }
                    else if (v.ValueKind == JsonValueKind.Array)
                    {
                        // Unigram: [[piece, score], ...], the id is the index.
                        vocab = new Dictionary<string, int>(StringComparer.Ordinal);
                        var i = 0;
                        foreach (var entry in v.EnumerateArray())
                        {
                            vocab.TryAdd(entry[0].GetString()!, i++);
                        }

                        maxId = Math.Max(maxId, i - 1);
                    }
                }

                var (prefix, suffix) = root.TryGetProperty("post_processor", out var post)
                    ? Template(file, post, addedIds, vocab)
                    : ([], []);
                var sanitize = (root.TryGetProperty("truncation", out var tr) && tr.ValueKind != JsonValueKind.Null) ||
                               (root.TryGetProperty("padding", out var pd) && pd.ValueKind != JsonValueKind.Null);
                return new TokenizerJson(added, addedIds, vocab, maxId + 1, prefix, suffix, sanitize);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException or
                                           ArgumentOutOfRangeException or IOException or UnauthorizedAccessException)
            {
                throw new AutoCircuitException($"{file}: not a readable tokenizer.json ({e.Message}).", e);
            }
        }

        /// <summary>The ids the post-processor puts before and after one sequence.</summary>
        private static (int[] Prefix, int[] Suffix) Template(
            string file, JsonElement post, Dictionary<string, int> addedIds, Dictionary<string, int>? vocab)
        {
            if (post.ValueKind == JsonValueKind.Null)
            {
                return ([], []);
            }

            var type = post.TryGetProperty("type", out var t) ? t.GetString() : null;
            int TokenId(JsonElement pair) => pair.ValueKind == JsonValueKind.Array ? pair[1].GetInt32() : throw new FormatException("expected [token, id]");
            switch (type)
            {
                case "ByteLevel":
                    return ([], []);
                case "Sequence":
                    {
                        var prefix = new List<int>();
                        var suffix = new List<int>();
                        foreach (var p in post.GetProperty("processors").EnumerateArray())
                        {
                            var (pre, suf) = Template(file, p, addedIds, vocab);
                            prefix.AddRange(pre);
                            suffix.InsertRange(0, suf);
                        }

                        return ([.. prefix], [.. suffix]);
                    }

                case "BertProcessing":
                case "RobertaProcessing":
                    return ([TokenId(post.GetProperty("cls"))], [TokenId(post.GetProperty("sep"))]);
                case "TemplateProcessing":
                    {
                        var specials = post.GetProperty("special_tokens");
                        var prefix = new List<int>();
                        var suffix = new List<int>();
                        var seenA = false;
                        foreach (var piece in post.GetProperty("single").EnumerateArray())
                        {
                            if (piece.TryGetProperty("Sequence", out _))
                            {
                                seenA = true;
                                continue;
                            }

                            var name = piece.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                            var ids = specials.TryGetProperty(name, out var s)
                                ? s.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray()
                                : [addedIds.TryGetValue(name, out var a) ? a : vocab is not null && vocab.TryGetValue(name, out var w) ? w
                                : throw new AutoCircuitException($"{file}: the post-processor's template names '{name}', which is no token.")];
                            (seenA ? suffix : prefix).AddRange(ids);
                        }

                        return ([.. prefix], [.. suffix]);
                    }

                default:
                    throw new AutoCircuitException(
                        $"{file}: post_processor type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, " +
                        "RobertaProcessing, Sequence of these).");
            }
        }

        /// <summary>Copies <paramref name="file"/> to <paramref name="copy"/> with <c>truncation</c> and <c>padding</c> set to null.</summary>
        public static void WriteWithoutTruncationAndPadding(string file, string copy)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file), new JsonDocumentOptions { MaxDepth = 256 });
            using var stream = File.Create(copy);
            using var writer = new Utf8JsonWriter(stream);
            writer.WriteStartObject();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name is "truncation" or "padding")
                {
                    writer.WriteNull(p.Name);
                }
                else
                {
                    p.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }
    }

    /// <summary>What we read from <c>tokenizer_config.json</c> (and <c>special_tokens_map.json</c>).</summary>
    private sealed record TokenizerConfig(string? Path, string? TokenizerClass, bool? AddBos, bool? AddEos, string? Bos, string? Eos, string? Pad)
    {
        public static TokenizerConfig Read(string folder)
        {
            var path = System.IO.Path.Combine(folder, "tokenizer_config.json");
            var map = System.IO.Path.Combine(folder, "special_tokens_map.json");
            JsonDocument? config = null, specials = null;
            try
            {
                config = Parse(path);
                specials = Parse(map);
                if (config is null && specials is null)
                {
                    return new TokenizerConfig(null, null, null, null, null, null, null);
                }

                string? Token(string name) =>
                    TokenText(config, name, path) ?? TokenText(specials, name, map);
                bool? Flag(string name) => config is not null && config.RootElement.TryGetProperty(name, out var f)
                    ? f.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Null => null,
                        _ => throw new AutoCircuitException($"{path}: {name} must be true, false or null."),
                    }
                    : null;
                var cls = config is not null && config.RootElement.TryGetProperty("tokenizer_class", out var c) && c.ValueKind == JsonValueKind.String
                    ? c.GetString()
                    : null;
                return new TokenizerConfig(
                    config is not null ? path : map, cls, Flag("add_bos_token"), Flag("add_eos_token"), Token("bos_token"), Token("eos_token"), Token("pad_token"));
            }
            finally
            {
                config?.Dispose();
                specials?.Dispose();
            }
        }

        private static JsonDocument? Parse(string path)
        {
            if (!File.Exists(path))
            {
                return null;
            }

            try
            {
                var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                {
                    doc.Dispose();
                    throw new AutoCircuitException($"{path}: expected a JSON object.");
                }

                return doc;
            }
            catch (JsonException e)
            {
                throw new AutoCircuitException($"{path}: not valid JSON ({e.Message}).", e);
            }
        }

        /// <summary>A special token given as a string or as an AddedToken object (<c>{"content": ...}</c>).</summary>
        private static string? TokenText(JsonDocument? doc, string name, string path)
        {
            if (doc is null || !doc.RootElement.TryGetProperty(name, out var value))
            {
                return null;
            }

            return value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Object when value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                _ => throw new AutoCircuitException($"{path}: {name} must be a string, an object with \"content\", or null."),
            };
        }
    }
}
