using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>Loader errors name the file and the tensor/field; dtype conversion; the restricted unpickler.</summary>
public sealed class CheckpointLoadingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CopyFixture(string name)
    {
        var target = Path.Combine(_dir, name);
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(ModelFixtures.Folder(name)))
        {
            File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        }

        return target;
    }

    private static void RewriteWeights(string folder, Func<List<KeyValuePair<string, Tensor>>, IEnumerable<KeyValuePair<string, Tensor>>> edit)
    {
        var path = Path.Combine(folder, "model.safetensors");
        var (tensors, _) = Safetensors.Read(path);
        var edited = edit(tensors).ToList();
        Safetensors.Write(path, edited);
    }

    private static AutoCircuitException LoadFails(string folder)
    {
        var e = Assert.Throws<AutoCircuitException>(() => ModelCatalog.Load(folder, torch.CPU).Dispose());
        Assert.Equal(ExitCode.UsageError, e.ExitCode);
        return e;
    }

    [Fact]
    public void Load_MissingTensor_NamesFolderAndTensor()
    {
        var folder = CopyFixture("gpt2-random");
        RewriteWeights(folder, t => t.Where(kv => kv.Key != "h.1.ln_2.bias"));

        var e = LoadFails(folder);

        Assert.Contains("missing tensor 'h.1.ln_2.bias' (expected shape [32])", e.Message, StringComparison.Ordinal);
        Assert.Contains(folder, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WrongShape_NamesFileTensorExpectedAndFound()
    {
        var folder = CopyFixture("gpt2-random");
        RewriteWeights(folder, t => t.Select(kv => kv.Key == "wpe.weight" ? new(kv.Key, kv.Value.narrow(0, 0, 31)) : kv));

        var e = LoadFails(folder);

        Assert.Contains("model.safetensors: tensor 'wpe.weight' has shape [31, 32], expected [32, 32]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_IntegerWeights_UnsupportedDtype()
    {
        var folder = CopyFixture("gpt2-random");
        RewriteWeights(folder, t => t.Select(kv => kv.Key == "ln_f.weight" ? new(kv.Key, kv.Value.to_type(ScalarType.Int32)) : kv));

        var e = LoadFails(folder);

        Assert.Contains("tensor 'ln_f.weight' has unsupported dtype Int32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnexpectedTensor_IsRejected()
    {
        var folder = CopyFixture("llama-random");
        RewriteWeights(folder, t => t.Append(new("model.layers.0.self_attn.q_norm.weight", torch.ones(8))));

        var e = LoadFails(folder);

        Assert.Contains("unexpected tensor 'model.layers.0.self_attn.q_norm.weight' for a llama model", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt2-random", "n_head", "missing field 'n_head' (or 'num_attention_heads')")]
    [InlineData("llama-random", "intermediate_size", "missing field 'intermediate_size'")]
    [InlineData("llama-random", "model_type", "model_type is missing")]
    public void Load_ConfigFieldMissing_NamesConfigAndField(string fixture, string field, string expected)
    {
        var folder = CopyFixture(fixture);
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json.Remove(field);
        File.WriteAllText(path, json.ToJsonString());

        var e = LoadFails(folder);

        Assert.Contains($"{path}: {expected}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("llama-random", "rope_scaling", "{\"rope_type\": \"longrope\", \"factor\": 2.0}",
        "rope_scaling.rope_type \"longrope\" is not supported (supported: default, linear, dynamic, yarn, llama3)")]
    [InlineData("llama-random-llama3", "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8.0}",
        "missing field 'rope_scaling.original_max_position_embeddings' (llama3 rope scaling needs it)")]
    [InlineData("llama-random", "hidden_act", "\"gelu\"", "hidden_act \"gelu\" is not supported (supported: silu)")]
    [InlineData("qwen2-random", "use_sliding_window", "true", "use_sliding_window true is not supported (supported: false)")]
    [InlineData("gemma2-random", "hidden_activation", "\"tanh\"", "hidden_activation \"tanh\" is not supported (supported: gelu_new,")]
    [InlineData("gemma2-random", "layer_types", "[\"sliding_attention\", \"chunked_attention\", \"full_attention\"]",
        "layer_types must list 3 entries, each sliding_attention or full_attention")]
    [InlineData("gemma3-random", "attention_bias", "true", "attention_bias true is not supported (supported: false)")]
    [InlineData("olmo2-random", "attention_bias", "true", "attention_bias true is not supported (supported: false)")]
    [InlineData("gpt_neox-random", "rotary_pct", "0.05", "rotary_pct 0.05 is not supported (supported: a fraction giving an even rotary width")]
    [InlineData("mistral-random", "num_key_value_heads", "3", "Transformer config: Heads 4 is not a multiple of KvHeads 3")]
    [InlineData("llama-random", "model_type", "\"phi3\"",
        "model_type 'phi3' is not supported (supported: gpt2, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, gpt_neox, olmo2)")]
    [InlineData("gemma3-random", "model_type", "\"gemma3\"", "model_type 'gemma3' is the multimodal Gemma 3")]
    public void Load_UnsupportedConfigValue_IsRefusedNamingTheFieldAndWhatIsSupported(string fixture, string field, string value, string expected)
    {
        var folder = CopyFixture(fixture);
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[field] = JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());

        var e = LoadFails(folder);

        Assert.Contains($"{path}: {expected}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_HeadDimNotMatchingTheTensors_IsRefusedBeforeAnyForward()
    {
        var folder = CopyFixture("qwen3-random");
        var path = Path.Combine(folder, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["head_dim"] = 8;
        File.WriteAllText(path, json.ToJsonString());

        var e = LoadFails(folder);

        Assert.Contains("tensor 'model.layers.0.self_attn.q_proj.weight' has shape [64, 32], expected [32, 32]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Load_HalfPrecisionWeights_AreConvertedToFloat32(ScalarType dtype)
    {
        var half = CopyFixture("gpt2-random");
        var rounded = Path.Combine(_dir, "rounded");
        Directory.CreateDirectory(rounded);
        File.Copy(Path.Combine(half, "config.json"), Path.Combine(rounded, "config.json"));
        var (tensors, _) = Safetensors.Read(Path.Combine(half, "model.safetensors"));
        Safetensors.Write(Path.Combine(half, "model.safetensors"), tensors.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.to_type(dtype))));
        Safetensors.Write(Path.Combine(rounded, "model.safetensors"), tensors.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.to_type(dtype).to_type(ScalarType.Float32))));
        using var tokens = torch.tensor(new long[] { 99, 3, 14, 15 }, [1, 4]);

        using var fromHalf = HfCheckpoint.Load(half).Model;
        using var fromRounded = HfCheckpoint.Load(rounded).Model;
        using var a = fromHalf.Forward(tokens);
        using var b = fromRounded.Forward(tokens);

        TensorAssert.Equal(b, a, $"{dtype} weights");
    }

    private static void WriteZip(string path, byte[] pickle)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("archive/data.pkl").Open())
        {
            s.Write(pickle);
        }
    }

    [Fact]
    public void PytorchCheckpoint_PickleGlobalOtherThanTensors_IsRefused()
    {
        // pickle.dumps of os.system("echo") via __reduce__: GLOBAL os system, ('echo',), REDUCE.
        var pickle = Encoding.Latin1.GetBytes("\u0080\u0002cos\nsystem\nq\u0000X\u0004\u0000\u0000\u0000echoq\u0001\u0085q\u0002Rq\u0003.");
        var path = Path.Combine(_dir, "pytorch_model.bin");
        WriteZip(path, pickle);

        var e = Assert.Throws<AutoCircuitException>(() => PytorchCheckpoint.Read(path));

        Assert.Contains($"{path}: refuses pickle global 'os.system'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PytorchCheckpoint_ObjectConstruction_IsRefused()
    {
        // An allowed global called with arguments it never takes in a state dict.
        var pickle = Encoding.Latin1.GetBytes("\u0080\u0002ccollections\nOrderedDict\nq\u0000X\u0001\u0000\u0000\u0000a\u0085R.");
        var path = Path.Combine(_dir, "pytorch_model.bin");
        WriteZip(path, pickle);

        var e = Assert.Throws<AutoCircuitException>(() => PytorchCheckpoint.Read(path));

        Assert.Contains("refuses to call", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PytorchCheckpoint_LegacyFormat_IsRejectedWithAClearMessage()
    {
        var path = Path.Combine(_dir, "pytorch_model.bin");
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a]);

        var e = Assert.Throws<AutoCircuitException>(() => PytorchCheckpoint.Read(path));

        Assert.Contains("not a zip torch.save file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PytorchCheckpoint_StateDict_ReadsEveryTensor()
    {
        var tensors = PytorchCheckpoint.Read(Path.Combine(ModelFixtures.Folder("gpt2-random-bin"), "pytorch_model.bin"));

        Assert.Equal(2 + 2 + 1 + (2 * 14), tensors.Count); // wte, wpe, ln_f.w/b, lm_head, 12 weights + 2 buffers per block
        var masked = tensors.Single(t => t.Key == "transformer.h.0.attn.bias").Value;
        Assert.Equal([1L, 1, 16, 16], masked.shape);
        Assert.Equal(136.0, masked.sum().ToDouble()); // tril(ones(16, 16))
        foreach (var (_, t) in tensors)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void LoadLlama2c_SizeNotMatchingHeader_IsRejected()
    {
        var path = Path.Combine(_dir, "model.bin");
        var header = new[] { 8, 16, 1, 2, 2, 10, 4 }.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllBytes(path, [.. header, .. new byte[100]]);

        var e = LoadFails(path);

        Assert.Contains($"{path}: 128 bytes, but a legacy llama2.c checkpoint with this header", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadLlama2c_VersionedExport_IsRejected()
    {
        var path = Path.Combine(_dir, "model.bin");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(0x616b3432u), .. BitConverter.GetBytes(1), .. new byte[64]]);

        var e = LoadFails(path);

        Assert.Contains("versioned llama2.c export", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownNameOrWeightsFileAlone_IsAUsageError()
    {
        Assert.Contains("not a built-in model", LoadFails(Path.Combine(_dir, "nope")).Message, StringComparison.Ordinal);
        var file = Path.Combine(CopyFixture("gpt2-random"), "model.safetensors");
        Assert.Contains("give the folder that holds it", LoadFails(file).Message, StringComparison.Ordinal);
    }

    [SharedModelFact("stories260K/stories260K.bin")]
    public void Load_Llama2cFile_FindsTheTokenizerBesideIt()
    {
        using var loaded = ModelCatalog.Load(ModelFixtures.Shared("stories260K/stories260K.bin"), torch.CPU);

        Assert.NotNull(loaded.Tokenizer);
        Assert.Equal(512, loaded.Tokenizer.VocabSize);
        Assert.True(loaded.Model.IsTransformer);
        Assert.Equal(512, loaded.Model.OutputSize);
    }
}
