using System.Text.Json;
using System.Text.Json.Nodes;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Writes a random checkpoint of any config in exact Hugging Face layout (<c>config.json</c>, safetensors sharded as
/// <c>save_pretrained</c> does with an index), tensor by tensor so that an 8B model is written with one tensor in
/// memory. The tensor list is the family's own layout table, so what is written is what the loader reads. For
/// measuring memory and time at the real shapes (<see cref="KnownConfigs"/>), not for circuits: weights are
/// normal(0, 0.02), norm weights 1 (0 where the family stores <c>w</c> for <c>1 + w</c>), biases 0.
/// </summary>
internal static class RandomCheckpoint
{
    /// <summary>Hugging Face's default largest shard.</summary>
    public const long DefaultShardBytes = 5L << 30;

    /// <summary>Writes the checkpoint into <paramref name="folder"/> (created; must be empty or absent); returns its bytes.</summary>
    public static long Write(HfConfig cfg, string folder, ScalarType dtype, long seed, long shardBytes = DefaultShardBytes)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(folder);
        var family = HfCheckpoint.FamilyOf(cfg);
        var config = family.ReadConfig(cfg, Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)));
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new AutoCircuit.Engine.AutoCircuitException($"{folder}: not empty; a random checkpoint goes into a new folder.");
        }

        Directory.CreateDirectory(folder);
        var tensors = family.Weights(config).DistinctBy(w => w.Tensor).Select(w => (w.Tensor, dtype, w.Shape)).ToList();
        var shards = Shard(tensors, shardBytes);
        var json = JsonNode.Parse(cfg.ToJson())!.AsObject();
        json["torch_dtype"] = dtype switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" };
        File.WriteAllText(Path.Combine(folder, "config.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        using var gen = new Generator((ulong)seed);
        long total = 0;
        var weightMap = new JsonObject();
        for (var i = 0; i < shards.Count; i++)
        {
            var file = shards.Count == 1 ? "model.safetensors" : $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
            total += Safetensors.WriteStreaming(
                Path.Combine(folder, file), shards[i], name => Values(name, tensors.First(t => t.Tensor == name).Shape, config, gen),
                new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var (name, _, _) in shards[i])
            {
                weightMap[name] = file;
            }
        }

        if (shards.Count > 1)
        {
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }

        return total;
    }

    private static List<List<(string, ScalarType, long[])>> Shard(List<(string Tensor, ScalarType DType, long[] Shape)> tensors, long shardBytes)
    {
        var shards = new List<List<(string, ScalarType, long[])>> { new() };
        long size = 0;
        foreach (var t in tensors)
        {
            var bytes = t.Shape.Aggregate(1L, (a, b) => a * b) * AutoCircuit.Engine.Patching.DTypes.Bytes(t.DType);
            if (size > 0 && size + bytes > shardBytes)
            {
                shards.Add([]);
                size = 0;
            }

            shards[^1].Add((t.Tensor, t.DType, t.Shape));
            size += bytes;
        }

        return shards;
    }

    private static Tensor Values(string name, long[] shape, TransformerConfig config, Generator gen)
    {
        var isNorm = name.Contains("norm", StringComparison.Ordinal) || name.Contains(".ln_", StringComparison.Ordinal);
        if (name.EndsWith(".bias", StringComparison.Ordinal))
        {
            return torch.zeros(shape);
        }

        if (isNorm)
        {
            return config.NormWeightOffset == 0 ? torch.ones(shape) : torch.zeros(shape);
        }

        using var noGrad = torch.no_grad();
        return torch.empty(shape, dtype: ScalarType.BFloat16).normal_(0, 0.02, gen);
    }
}
