using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using AutoCircuit.Testing;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>One hostile input: the files it needs (written into a fresh folder), the command line that meets them,
/// and how the command must end.</summary>
/// <param name="Class">The class of input (dataset, safetensors, config, llama2c, pickle, options, output).</param>
/// <param name="Name">The case.</param>
/// <param name="Args">Writes the files into the folder and returns the command line (<c>--out</c> is added for run).</param>
/// <param name="Code">The exit code.</param>
/// <param name="Mention">What the one error line must name (a file, field, tensor or option).</param>
public sealed record MalformedCase(string Class, string Name, Func<string, string[]> Args, int Code, string Mention)
{
    public override string ToString() => $"{Class}/{Name}";
}

/// <summary>
/// The corpus of malformed inputs, made by our own code from the small fixtures (the tiny GPT-2 in safetensors and in
/// pickle form, the micro model): each case breaks one rule of one reader. <see cref="MalformedInputTests"/> runs every
/// case through the command line and asserts the one-line-refusal contract.
/// </summary>
public static class MalformedCorpus
{
    private static string Gpt2 => Path.Combine(TestFixtures.Root, "models", "gpt2-random");

    private static string Gpt2Bin => Path.Combine(TestFixtures.Root, "models", "gpt2-random-bin");

    /// <summary>Every case, by name.</summary>
    public static IReadOnlyDictionary<string, MalformedCase> All { get; } = Build().ToDictionary(c => c.ToString(), StringComparer.Ordinal);

    private static IEnumerable<MalformedCase> Build()
    {
        // --- datasets (micro: vectors; gpt2-random: token ids, vocab 100, context 32) ---
        yield return Dataset("invalid-json", "{\"prompts\": [", "data.json:1:");
        yield return DatasetBytes("invalid-utf8", Encoding.UTF8.GetBytes("{\"prompts\": [{\"clean\": \"a").Concat(new byte[] { 0xff, 0xfe }).Concat(Encoding.UTF8.GetBytes("\"}]}")).ToArray(), "not valid UTF-8");
        yield return Dataset("lone-surrogate", "{\"prompts\": [{\"clean\": \"\\ud800\", \"corrupt\": \"b\", \"answers\": [1], \"wrong_answers\": [2]}]}", "not valid Unicode");
        yield return Dataset("overflowing-number", Micro(v: "1e309"), "1e309 is not a finite number");
        yield return Dataset("negative-overflowing-number", Micro(v: "-1e309"), "-1e309 is not a finite number");
        yield return Dataset("deep-nesting", "{\"prompts\": [{\"clean\": " + new string('[', 200) + new string(']', 200) + "}]}", "data.json:1:");
        yield return Dataset("ragged", "{\"prompts\": [{\"clean\": [[1, 2], [3]], \"corrupt\": [[1, 2], [3, 4]], \"answers\": [0], \"wrong_answers\": [1]}]}", "ragged array");
        yield return Dataset("float-answer", "{\"prompts\": [{\"clean\": [[1, 2]], \"corrupt\": [[1, 2]], \"answers\": [0.5], \"wrong_answers\": [1]}]}", "answers[0] must be an integer token id");
        yield return Dataset("answer-outside-output", Micro(answer: "7"), "contains 7, outside the model's output");
        yield return Dataset("negative-answer", Micro(answer: "-1"), "contains -1, outside the model's output");
        yield return Dataset("not-an-object", "[1, 2, 3]", "the top level must be an object");
        yield return Dataset("empty-prompts", "{\"prompts\": []}", "\"prompts\" is empty");
        yield return TokenIds("negative-token-id", ids => ids[3][1] = -5, "prompts[3].clean[1] is -5");
        yield return TokenIds("token-id-past-vocab", ids => ids[2][0] = 100, "prompts[2].clean[0] is 100");
        yield return TokenIds("huge-token-id", ids => ids[1][0] = 1e15, "is 1000000000000000");
        yield return TokenIds("fractional-token-id", ids => ids[0][1] = 2.5, "prompts[0].clean[1] is 2.5");
        yield return TokenIds("prompt-longer-than-context", ids => ids[4] = [.. Enumerable.Repeat(1.0, 40)], "is 40 tokens, more than the context length 32");
        yield return TokenIds("hundred-thousand-tokens", ids => ids[4] = [.. Enumerable.Repeat(1.0, 100_000)], "is 100000 tokens");
        yield return new MalformedCase("dataset", "train-size-overflow", d =>
            ["run", "--model", "micro", "--dataset", WriteText(d, "data.json", Micro()), "--train-size", "2147483647", "--test-size", "2147483647"],
            1, "4294967294");
        yield return new MalformedCase("dataset", "dev-zero", _ => ["run", "--model", "micro", "--dataset", "/dev/zero"], 1, "/dev/zero: more than the dataset size limit");
        yield return new MalformedCase("dataset", "a-folder", d => ["run", "--model", "micro", "--dataset", d], 1, "is a folder");
        yield return new MalformedCase("dataset", "missing-file", d => ["run", "--model", "micro", "--dataset", Path.Combine(d, "nope.json")], 1, "nope.json: dataset file not found");

        // --- safetensors headers (the tiny GPT-2's weights rewritten) ---
        yield return Safetensors("negative-offset", h => First(h)["data_offsets"]![0] = -8, "data_offsets[0] is -8");
        yield return Safetensors("float-offset", h => First(h)["data_offsets"] = new JsonArray(0.5, 3.5), "data_offsets[0] is 0.5");
        yield return Safetensors("one-element-offsets", h => First(h)["data_offsets"] = new JsonArray(0), "'data_offsets' must hold 2 integers");
        yield return Safetensors("string-offsets", h => First(h)["data_offsets"] = "0,4", "missing 'data_offsets'");
        yield return Safetensors("overlapping-offsets", h => Shift(Second(h), -4), "overlaps tensor");
        yield return Safetensors("offsets-past-the-end", h => Shift(Last(h), 4), "leaving a gap");
        yield return Safetensors("negative-shape", h => First(h)["shape"] = new JsonArray(-1, 2), "shape[0] is -1");
        yield return Safetensors("overflowing-shape", h => First(h)["shape"] = new JsonArray(1L << 62, 1L << 62), "overflows");
        yield return Safetensors("shape-offsets-mismatch", h => First(h)["shape"] = new JsonArray(3), "needs 12");
        yield return Safetensors("unknown-dtype", h => First(h)["dtype"] = "F8_E4M3", "unsupported dtype F8_E4M3");
        yield return Safetensors("not-an-object", h => h["wte.weight"] = 3, "tensor 'wte.weight' must be an object");
        yield return Safetensors("metadata-not-strings", h => h["__metadata__"] = new JsonObject { ["format"] = 3 }, "__metadata__.format must be a string");
        yield return SafetensorsBytes("truncated", b => b[..^100], "runs past the end of the data");
        yield return SafetensorsBytes("trailing-bytes", b => [.. b, 1, 2, 3, 4], "the tensors cover");
        yield return SafetensorsBytes("header-length-past-end", b => { BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)b.Length); return b; }, "exceeds the file");
        yield return SafetensorsBytes("header-length-2^64-1", b => { BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue); return b; }, "exceeds the file");
        yield return SafetensorsBytes("header-not-json", b => { b[8] = (byte)'x'; return b; }, "not valid JSON");
        yield return SafetensorsBytes("header-not-utf8", b => { b[12] = 0xff; return b; }, "not valid UTF-8");
        yield return SafetensorsBytes("seven-bytes", b => b[..7], "but the weights (model.safetensors) are 7 bytes"); // the size check comes first

        // --- config.json sizes (against the weights' size and the memory) ---
        yield return Config("vocab-2^31", c => c["vocab_size"] = int.MaxValue, "the config does not match the weights");
        yield return Config("n_embd-2^30", c => c["n_embd"] = 1 << 30, "d_model 1073741824");
        yield return Config("n_embd-2^30-no-n_inner", c => { c["n_embd"] = 1 << 30; c.Remove("n_inner"); }, "n_embd 1073741824 is too large");
        yield return Config("n_positions-2^31", c => c["n_positions"] = int.MaxValue, "context 2147483647");
        yield return Config("n_layer-10^9", c => c["n_layer"] = 1_000_000_000, "1000000000 layers");
        yield return Config("n_layer-negative", c => c["n_layer"] = -1, "Layers must be positive");
        yield return Config("n_head-zero", c => c["n_head"] = 0, "Heads must be positive");
        yield return Config("n_embd-not-divisible", c => c["n_head"] = 5, "not divisible");
        yield return Config("vocab-string", c => c["vocab_size"] = "100", "field 'vocab_size' must be an integer");
        yield return Config("vocab-float", c => c["vocab_size"] = 100.5, "field 'vocab_size' must be an integer");
        yield return Config("vocab-2^40", c => c["vocab_size"] = 1L << 40, "field 'vocab_size' must be an integer");
        yield return Config("not-json", null, "config.json: not valid JSON", raw: "{\"n_layer\": ");
        yield return Sharded("missing-shard", (_, map) => map["wte.weight"] = "model-00002-of-00002.safetensors", "names the shard 'model-00002-of-00002.safetensors'");
        yield return Sharded("shard-path-traversal", (_, map) => map["wte.weight"] = "../model.safetensors", "not a path");
        yield return Sharded("shard-not-a-string", (_, map) => map["wte.weight"] = 7, "weight_map.wte.weight must be a shard file name");
        yield return Sharded("no-weight-map", (index, _) => index.Remove("weight_map"), "missing field 'weight_map'");

        // --- llama2.c headers (7 int32, then float32 weights) ---
        yield return Llama2c("vocab-int-min", [64, 172, 5, 8, 4, int.MinValue, 512], 4096, "vocab_size=-2147483648");
        yield return Llama2c("all-zero", [0, 0, 0, 0, 0, 0, 0], 4096, "not a llama2.c checkpoint");
        yield return Llama2c("overflowing-sizes", [1 << 30, 1 << 30, 1 << 30, 8, 4, 512, 512], 4096, "has more than 2^63");
        yield return Llama2c("size-mismatch", [8, 16, 1, 2, 2, 10, 4], 4096, "but a legacy llama2.c checkpoint with this header");
        yield return Llama2c("kv-heads-not-dividing", [8, 16, 1, 2, 3, 10, 4], 3296, "not a multiple of KvHeads"); // the right size
        yield return new MalformedCase("llama2c", "too-short", d => ["logits", "--model", WriteBytes(d, "m.bin", [1, 2, 3]), "--tokens", "1"], 1, "too short for a llama2.c checkpoint");

        // --- pickles (the tiny GPT-2 as pytorch_model.bin) ---
        yield return Pickle("truncated-zip", b => b[..(b.Length / 2)], "pytorch_model.bin");
        yield return Pickle("pickle-opcode-garbage", b => { b[PickleStart(b)] = 0xff; return b; }, "unsupported pickle opcode 0xff");
        yield return Pickle("zip-directory-cut", b => b[..^12], "pytorch_model.bin");
        yield return Pickle("not-a-zip", b => [.. "PKgarbage"u8], "pytorch_model.bin");

        // --- options ---
        yield return Options("batch-size-zero", ["--batch-size", "0"], "--batch-size must be at least 1");
        yield return Options("sizes-negative", ["--train-size", "-1"], "must not be negative");
        yield return Options("seed-not-a-long", ["--seed", "99999999999999999999"], "--seed");
        yield return Options("threads-zero", ["--threads", "0"], "--threads");
        yield return Options("max-patch-memory-negative", ["--max-patch-memory", "-5"], "--max-patch-memory -5");
        yield return Options("unknown-device", ["--device", "tpu"], "tpu");
        yield return Options("unknown-flag", ["--no-such-flag"], "--no-such-flag");

        // --- results folder ---
        yield return new MalformedCase("output", "empty-out", _ => ["run", "--model", "micro", "--out", ""], 1, "--out ''");
        yield return new MalformedCase("output", "out-is-a-file", d => ["run", "--model", "micro", "--out", WriteText(d, "file.txt", "x")], 1, "a file of that name exists");
        yield return new MalformedCase("output", "out-not-empty", d =>
        {
            WriteText(Directory.CreateDirectory(Path.Combine(d, "full")).FullName, "keep.txt", "user data");
            return ["run", "--model", "micro", "--out", Path.Combine(d, "full")];
        }, 1, "the directory exists and is not empty");
        yield return new MalformedCase("output", "out-under-sys", _ => ["run", "--model", "micro", "--out", "/sys/autocircuit-test/out"], 1, "--out /sys/autocircuit-test/out");
        yield return new MalformedCase("output", "out-under-proc", _ => ["run", "--model", "micro", "--out", "/proc/autocircuit-test"], 1, "--out /proc/autocircuit-test");
    }

    private static MalformedCase Options(string name, string[] extra, string mention) =>
        new("options", name, _ => ["run", "--model", "micro", .. extra], 1, mention);

    private static MalformedCase Dataset(string name, string json, string mention) =>
        new("dataset", name, d => ["run", "--model", "micro", "--dataset", WriteText(d, "data.json", json), "--batch-size", "2"], 1, mention);

    private static MalformedCase DatasetBytes(string name, byte[] bytes, string mention) =>
        new("dataset", name, d => ["run", "--model", "micro", "--dataset", WriteBytes(d, "data.json", bytes)], 1, mention);

    /// <summary>A micro dataset of 8 prompts; <paramref name="v"/> replaces one coordinate, <paramref name="answer"/> one answer.</summary>
    private static string Micro(string v = "1", string answer = "0")
    {
        var items = Enumerable.Range(0, 8).Select(i =>
            $"{{\"clean\": [[{(i == 5 ? v : "1")}, 2], [1, {i % 2 + 1}]], \"corrupt\": [[-1, -2], [-1, -1]], " +
            $"\"answers\": [{(i == 5 ? answer : (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture))}], \"wrong_answers\": [{1 - (i % 2)}]}}");
        return $"{{\"prompts\": [{string.Join(", ", items)}]}}";
    }

    /// <summary>A token-id dataset of 8 prompts for the tiny GPT-2 with one change to the clean prompts.</summary>
    private static MalformedCase TokenIds(string name, Action<double[][]> change, string mention) =>
        new("dataset", name, d =>
        {
            var clean = Enumerable.Range(0, 8).Select(i => new double[] { 1, 2 + i, 3 }).ToArray();
            change(clean);
            var prompts = clean.Select((c, i) => new JsonObject
            {
                ["clean"] = new JsonArray([.. c.Select(x => JsonValue.Create(x))]),
                ["corrupt"] = new JsonArray([.. c.Select((x, j) => JsonValue.Create(j == 0 ? 5.0 : x))]),
                ["answers"] = new JsonArray(i % 10),
                ["wrong_answers"] = new JsonArray(11),
            });
            var json = new JsonObject { ["prompts"] = new JsonArray([.. prompts]) }.ToJsonString();
            return ["run", "--model", Gpt2, "--dataset", WriteText(d, "ids.json", json), "--batch-size", "2", "--no-shuffle"];
        }, 1, mention);

    private static MalformedCase Safetensors(string name, Action<JsonObject> change, string mention) =>
        SafetensorsFolder(name, bytes =>
        {
            var (header, data) = Split(bytes);
            change(header);
            return Join(header, data);
        }, mention);

    private static MalformedCase SafetensorsBytes(string name, Func<byte[], byte[]> change, string mention) =>
        SafetensorsFolder(name, change, mention);

    private static MalformedCase SafetensorsFolder(string name, Func<byte[], byte[]> change, string mention) =>
        new("safetensors", name, d =>
        {
            var folder = Directory.CreateDirectory(Path.Combine(d, "model")).FullName;
            File.Copy(Path.Combine(Gpt2, "config.json"), Path.Combine(folder, "config.json"));
            File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), change(File.ReadAllBytes(Path.Combine(Gpt2, "model.safetensors"))));
            return ["logits", "--model", folder, "--tokens", "1,2"];
        }, 1, mention);

    private static MalformedCase Config(string name, Action<JsonObject>? change, string mention, string? raw = null) =>
        new("config", name, d =>
        {
            var folder = Directory.CreateDirectory(Path.Combine(d, "model")).FullName;
            File.Copy(Path.Combine(Gpt2, "model.safetensors"), Path.Combine(folder, "model.safetensors"));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Gpt2, "config.json")))!.AsObject();
            change?.Invoke(config);
            File.WriteAllText(Path.Combine(folder, "config.json"), raw ?? config.ToJsonString());
            return ["logits", "--model", folder, "--tokens", "1,2"];
        }, 1, mention);

    /// <summary>The tiny GPT-2 as a one-shard index whose weight map is then changed.</summary>
    private static MalformedCase Sharded(string name, Action<JsonObject, JsonObject> change, string mention) =>
        new("config", name, d =>
        {
            var folder = Directory.CreateDirectory(Path.Combine(d, "model")).FullName;
            File.Copy(Path.Combine(Gpt2, "config.json"), Path.Combine(folder, "config.json"));
            var shard = "model-00001-of-00002.safetensors";
            File.Copy(Path.Combine(Gpt2, "model.safetensors"), Path.Combine(folder, shard));
            var (header, _) = Split(File.ReadAllBytes(Path.Combine(Gpt2, "model.safetensors")));
            var map = new JsonObject();
            foreach (var (key, _) in header.Where(p => p.Key != "__metadata__"))
            {
                map[key] = shard;
            }

            var index = new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map };
            change(index, map);
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), index.ToJsonString());
            return ["logits", "--model", folder, "--tokens", "1,2"];
        }, 1, mention);

    private static MalformedCase Llama2c(string name, int[] header, int bodyBytes, string mention) =>
        new("llama2c", name, d =>
        {
            var bytes = new byte[(header.Length * 4) + bodyBytes];
            for (var i = 0; i < header.Length; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), header[i]);
            }

            return ["logits", "--model", WriteBytes(d, "model.bin", bytes), "--tokens", "1"];
        }, 1, mention);

    private static MalformedCase Pickle(string name, Func<byte[], byte[]> change, string mention) =>
        new("pickle", name, d =>
        {
            var folder = Directory.CreateDirectory(Path.Combine(d, "model")).FullName;
            File.Copy(Path.Combine(Gpt2Bin, "config.json"), Path.Combine(folder, "config.json"));
            File.WriteAllBytes(Path.Combine(folder, "pytorch_model.bin"), change(File.ReadAllBytes(Path.Combine(Gpt2Bin, "pytorch_model.bin"))));
            return ["logits", "--model", folder, "--tokens", "1,2"];
        }, 1, mention);

    /// <summary>Where <c>data.pkl</c>'s bytes start in a <c>torch.save</c> zip (stored, not compressed).</summary>
    private static int PickleStart(byte[] zip)
    {
        var name = zip.AsSpan().IndexOf("data.pkl"u8);
        var header = zip.AsSpan(0, name).LastIndexOf("PK\u0003\u0004"u8);
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(header + 26));
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(header + 28));
        return header + 30 + nameLength + extraLength;
    }

    /// <summary>A safetensors file's header (as JSON) and data.</summary>
    public static (JsonObject Header, byte[] Data) Split(byte[] bytes)
    {
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return (JsonNode.Parse(bytes.AsSpan(8, n))!.AsObject(), bytes[(8 + n)..]);
    }

    /// <summary>A safetensors file from a header and data.</summary>
    public static byte[] Join(JsonObject header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private static IEnumerable<JsonObject> ByOffset(JsonObject h) =>
        h.Where(p => p.Key != "__metadata__").Select(p => p.Value!.AsObject()).OrderBy(t => (long)t["data_offsets"]![0]!);

    private static JsonObject First(JsonObject h) => ByOffset(h).First();

    private static JsonObject Second(JsonObject h) => ByOffset(h).Skip(1).First();

    private static JsonObject Last(JsonObject h) => ByOffset(h).Last();

    private static void Shift(JsonObject tensor, long by)
    {
        var o = tensor["data_offsets"]!.AsArray();
        tensor["data_offsets"] = new JsonArray((long)o[0]! + by, (long)o[1]! + by);
    }

    private static string WriteText(string dir, string name, string text) => WriteBytes(dir, name, Encoding.UTF8.GetBytes(text));

    private static string WriteBytes(string dir, string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
