using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AutoCircuit.Engine;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using CsCheck;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Reliability;

/// <summary>
/// Property-based tests (CsCheck) of the readers of outside files: whatever the bytes, a reader returns a value that
/// obeys its invariants or throws its one anticipated exception (whose message names the file): never an
/// <c>IndexOutOfRangeException</c>, an <c>OverflowException</c>, a libtorch error or a huge allocation. A failure prints the
/// shrunk input and the seed to replay it. A few hundred cases each, single-threaded, a second or two per property.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class ReaderPropertyTests : IDisposable
{
    private const int Iterations = 300;

    private readonly string _dir = Directory.CreateTempSubdirectory("ac-props-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A valid three-tensor safetensors file (float32, int64, bfloat16).</summary>
    private static byte[] ValidSafetensors()
    {
        using var scope = torch.NewDisposeScope();
        using var stream = new MemoryStream();
        Safetensors.Write(stream, new Dictionary<string, Tensor>
        {
            ["a"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3),
            ["b"] = torch.arange(4, dtype: ScalarType.Int64),
            ["c"] = torch.ones(3, 1, dtype: ScalarType.BFloat16),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        return stream.ToArray();
    }

    private static readonly Gen<JsonNode?> HostileValue = Gen.OneOf(
        Gen.Long.Select(v => (JsonNode?)JsonValue.Create(v)),
        Gen.OneOf(-1L, 0L, 1L, long.MaxValue, long.MinValue, int.MaxValue, 1L << 62).Select(v => (JsonNode?)JsonValue.Create(v)),
        Gen.Double.Select(v => (JsonNode?)JsonValue.Create(double.IsFinite(v) ? v : 1.5)),
        Gen.String.Select(v => (JsonNode?)JsonValue.Create(v)),
        Gen.Const<JsonNode?>((JsonNode?)null),
        Gen.Long.Array[0, 4].Select(v => (JsonNode?)new JsonArray([.. v.Select(x => JsonValue.Create(x))])));

    [Fact]
    public void Safetensors_HeaderFieldsReplaced_ReadOrInvalidData()
    {
        var valid = ValidSafetensors();
        var gen = Gen.Select(Gen.OneOf("a", "b", "c", "__metadata__"), Gen.OneOf("dtype", "shape", "data_offsets", "x"), HostileValue);

        gen.Sample((tensor, field, value) =>
        {
            var (header, data) = MalformedCorpus.Split(valid);
            if (tensor == "__metadata__")
            {
                header[tensor] = value?.DeepClone();
            }
            else
            {
                header[tensor]![field] = value?.DeepClone();
            }

            AssertReadOrInvalid(MalformedCorpus.Join(header, data));
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void Safetensors_BytesFlippedOrCut_ReadOrInvalidData()
    {
        var valid = ValidSafetensors();
        var gen = Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length + 8]);

        gen.Sample((position, value, length) =>
        {
            var bytes = valid.ToArray();
            bytes[position] = value;
            Array.Resize(ref bytes, length);
            AssertReadOrInvalid(bytes);
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void Safetensors_RandomBytes_InvalidData()
    {
        Gen.Select(Gen.Byte.Array[0, 64], Gen.Int[0, 56], (b, n) =>
        {
            var bytes = b.ToArray();
            if (bytes.Length >= 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)Math.Min(n, bytes.Length - 8)); // a header that fits
            }

            return bytes;
        }).Sample(AssertReadOrInvalid, iter: Iterations, threads: 1);
    }

    private static void AssertReadOrInvalid(byte[] bytes)
    {
        try
        {
            var (tensors, _) = Safetensors.Read(bytes, "fuzz.safetensors");
            var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            var dataBytes = tensors.Sum(t => t.Value.NumberOfElements * t.Value.ElementSize);
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }

            Assert.Equal(bytes.Length - 8 - headerLength, dataBytes); // accepted tensors tile the data exactly
        }
        catch (InvalidDataException e)
        {
            Assert.StartsWith("fuzz.safetensors: ", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dataset_JsonMutated_ParsedOrRefused()
    {
        const string valid = """{"prompts": [{"clean": [[1, 2], [3, 4]], "corrupt": [[1, 2], [3, 5]], "answers": [0], "wrong_answers": [1]}], "seq_labels": ["a", "b"], "word_idxs": {"x": 1}}""";
        var insert = Gen.OneOf("1e309", "-1e309", "\"\\ud800\"", "[", "]", "{", "}", ",", ":", "null", "9223372036854775808", "-0", "1e-400",
            "\"", "\\", "[[[[[[[[[[", "true", "\u00ff");
        var gen = Gen.Select(Gen.Int[0, valid.Length], Gen.Int[0, 6], insert, Gen.Byte);

        gen.Sample((position, delete, text, raw) =>
        {
            var bytes = Encoding.UTF8.GetBytes(valid[..position] + text + valid[Math.Min(valid.Length, position + delete)..]).ToList();
            if (raw > 0xf4)
            {
                bytes.Insert(position % (bytes.Count + 1), raw); // not UTF-8
            }

            try
            {
                var doc = DatasetDocument.Parse(bytes.ToArray(), "fuzz.json");
                Assert.All(doc.Prompts, p => Assert.True(p.Clean.IsText || p.Clean.Values!.All(double.IsFinite)));
            }
            catch (DatasetException e)
            {
                Assert.StartsWith("fuzz.json", e.Message, StringComparison.Ordinal);
            }
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void Llama2cHeader_AnyInts_LoadedOrRefused()
    {
        var size = Gen.OneOf(Gen.Int, Gen.Int[-4, 600], Gen.OneOf(int.MinValue, int.MaxValue, 0, 1 << 30));
        var gen = Gen.Select(size.Array[7, 7], Gen.Int[0, 2048]);
        var path = Path.Combine(_dir, "model.bin");

        gen.Sample((header, body) =>
        {
            var bytes = new byte[28 + body];
            for (var i = 0; i < 7; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), header[i]);
            }

            File.WriteAllBytes(path, bytes);
            try
            {
                LlamaCheckpoint.LoadLlama2c(path).Model.Dispose();
            }
            catch (AutoCircuitException e)
            {
                Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
            }
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void Gpt2Config_AnySizes_LoadedOrRefused()
    {
        var folder = Path.Combine(_dir, "gpt2");
        Directory.CreateDirectory(folder);
        var fixture = Path.Combine(TestFixtures.Root, "models", "gpt2-random");
        File.Copy(Path.Combine(fixture, "model.safetensors"), Path.Combine(folder, "model.safetensors"));
        var config = File.ReadAllText(Path.Combine(fixture, "config.json"));
        var fields = Gen.OneOf("vocab_size", "n_embd", "n_positions", "n_layer", "n_head", "n_inner", "layer_norm_epsilon", "eos_token_id");
        var value = Gen.OneOf(
            HostileValue,
            Gen.OneOf(int.MaxValue, 1 << 30, 1_000_000_000, -1, 0, 2, 3, 33, 101).Select(v => (JsonNode?)JsonValue.Create(v)));

        Gen.Select(fields, value, fields, value).Sample((f1, v1, f2, v2) =>
        {
            var c = JsonNode.Parse(config)!.AsObject();
            c[f1] = v1?.DeepClone();
            c[f2] = v2?.DeepClone();
            File.WriteAllText(Path.Combine(folder, "config.json"), c.ToJsonString());
            try
            {
                HfCheckpoint.Load(folder).Model.Dispose();
            }
            catch (AutoCircuitException e)
            {
                Assert.Contains(folder, e.Message, StringComparison.Ordinal);
            }
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void Pickle_BytesCorrupted_ReadOrRefused()
    {
        var valid = File.ReadAllBytes(Path.Combine(TestFixtures.Root, "models", "gpt2-random-bin", "pytorch_model.bin"));
        var path = Path.Combine(_dir, "pytorch_model.bin");
        var gen = Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[1, 64], Gen.Int[valid.Length / 2, valid.Length]);

        gen.Sample((position, value, run, length) =>
        {
            var bytes = valid.ToArray();
            for (var i = position; i < Math.Min(bytes.Length, position + run); i++)
            {
                bytes[i] = value;
            }

            File.WriteAllBytes(path, bytes[..length]);
            try
            {
                foreach (var (_, t) in PytorchCheckpoint.Read(path))
                {
                    t.Dispose();
                }
            }
            catch (AutoCircuitException e)
            {
                Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
            }
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void TokenIds_AnyNumber_AcceptedExactlyWhenAnIdOfTheVocabulary()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            Name = "tiny",
            DModel = 8,
            Layers = 1,
            Heads = 2,
            DMlp = 16,
            VocabSize = 100,
            ContextLength = 32,
        };
        var value = Gen.OneOf(Gen.Double[-200, 200], Gen.Int[-5, 105].Select(i => (double)i), Gen.OneOf(99.0, 100.0, -0.0, 1e15, 0.5));

        Gen.Select(value, Gen.Int[1, 40]).Sample((v, length) =>
        {
            var values = Enumerable.Repeat(1.0, length).ToArray();
            values[^1] = v;
            var prompt = new PromptRecord(0, PromptInput.FromNumbers(values, [length]), PromptInput.FromNumbers(values, [length]),
                new AnswerList([1], null), new AnswerList([2], null));
            var ok = length <= 32 && v == Math.Floor(v) && v >= 0 && v < 100;

            var e = Record.Exception(() => PromptLimits.CheckTokenIds("fuzz.json", [prompt], config));

            Assert.Equal(ok, e is null);
            Assert.True(e is null or DatasetException, e?.ToString());
            Assert.True(e is null || e.Message.Contains(length > 32 ? "prompts[0].clean is" : string.Create(CultureInfo.InvariantCulture, $"prompts[0].clean[{length - 1}]"), StringComparison.Ordinal), e?.Message);
        }, iter: Iterations, threads: 1);
    }
}
