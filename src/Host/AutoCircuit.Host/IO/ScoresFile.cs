using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Graph;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.IO;

/// <summary>A scores file read back: the algorithm that made it, its options, and the scores.</summary>
public sealed record LoadedScores(string Algorithm, IReadOnlyDictionary<string, JsonElement> Options, PruneScores Scores);

/// <summary>
/// The <c>scores/&lt;key&gt;.json</c> format: <c>{"algorithm": key, "options": {...}, "graph": {"srcs": [...],
/// "dests": [...], "edges": n, ...}, "scores": {"&lt;dest module&gt;": nested arrays of the mask's shape}}</c>.
/// The <c>scores</c> object alone is auto-circuit's prune-scores layout (module name → tensor).
/// </summary>
public static class ScoresFile
{
    /// <summary>Writes scores as JSON.</summary>
    public static void WriteJson(Stream stream, string algorithm, IEnumerable<KeyValuePair<string, object?>> options, PruneScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteString("algorithm", algorithm);
        w.WritePropertyName("options");
        JsonSerializer.Serialize(w, OptionValues.ToJson(options), OutputJsonContext.Default.OptionValues);
        var g = scores.Graph;
        w.WriteStartObject("graph");
        w.WriteBoolean("factorized", g.IsFactorized);
        if (g.SeqLen is int s)
        {
            w.WriteNumber("seq_len", s);
        }
        else
        {
            w.WriteNull("seq_len");
        }

        w.WriteStartArray("srcs");
        foreach (var n in g.Srcs)
        {
            w.WriteStringValue(n.Name);
        }

        w.WriteEndArray();
        w.WriteStartArray("dests");
        foreach (var n in g.Dests)
        {
            w.WriteStringValue(n.Name);
        }

        w.WriteEndArray();
        w.WriteNumber("edges", g.EdgeCount);
        w.WriteStartObject("modules");
        foreach (var m in g.DestModules)
        {
            w.WriteStartArray(m.ModuleName);
            foreach (var d in m.MaskShape)
            {
                w.WriteNumberValue(d);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("scores");
        foreach (var (module, tensor) in scores)
        {
            using var cpu = tensor.detach().to_type(ScalarType.Float32).cpu().contiguous();
            var data = cpu.data<float>().ToArray();
            w.WritePropertyName(module);
            var pos = 0;
            WriteNested(w, data, tensor.shape, 0, ref pos);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Writes scores as JSON to a file.</summary>
    public static void WriteJson(string path, string algorithm, IEnumerable<KeyValuePair<string, object?>> options, PruneScores scores)
    {
        using var fs = File.Create(path);
        WriteJson(fs, algorithm, options, scores);
    }

    /// <summary>Writes scores as safetensors (one tensor per destination module).</summary>
    public static void WriteSafetensors(string path, string algorithm, PruneScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        Safetensors.Write(path, scores, new Dictionary<string, string> { ["algorithm"] = algorithm, ["format"] = "autocircuit-prune-scores" });
    }

    /// <summary>
    /// Reads a scores JSON file (ours, or auto-circuit prune scores as <c>{"module": nested arrays}</c>,
    /// with or without the surrounding object) and checks it against <paramref name="graph"/>.
    /// </summary>
    /// <exception cref="AutoCircuitException">Bad JSON (line/column), unknown/missing module, wrong shape.</exception>
    public static LoadedScores ReadJson(string path, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: scores file not found.");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{path}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: invalid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new AutoCircuitException($"{path}: expected a JSON object with \"scores\".");
            }

            var algorithm = root.TryGetProperty("algorithm", out var a) && a.ValueKind == JsonValueKind.String
                ? a.GetString()!
                : Path.GetFileNameWithoutExtension(path);
            var options = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (root.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in o.EnumerateObject())
                {
                    options[p.Name] = p.Value.Clone();
                }
            }

            var scoresEl = root.TryGetProperty("scores", out var s) ? s : root;
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var p in scoresEl.EnumerateObject())
                {
                    if (!graph.TryGetDestModule(p.Name, out var module))
                    {
                        throw new AutoCircuitException(
                            $"{path}: scores.{p.Name} is not a destination module of this model's graph " +
                            $"(expected: {string.Join(", ", graph.DestModules.Select(m => m.ModuleName))}).");
                    }

                    var values = new List<float>();
                    var shape = new List<long>();
                    ReadNested(path, $"scores.{p.Name}", p.Value, 0, shape, values);
                    if (!shape.SequenceEqual(module.MaskShape))
                    {
                        throw new AutoCircuitException(
                            $"{path}: scores.{p.Name} has shape [{string.Join(", ", shape)}] but the graph's mask is {module.DescribeShape()}.");
                    }

                    tensors[p.Name] = torch.tensor(values.ToArray(), [.. shape]).DetachFromDisposeScope();
                }

                var missing = graph.DestModules.FirstOrDefault(m => !tensors.ContainsKey(m.ModuleName));
                if (missing is not null)
                {
                    throw new AutoCircuitException($"{path}: no scores for destination module '{missing.ModuleName}' {missing.DescribeShape()}.");
                }

                return new LoadedScores(algorithm, options, PruneScores.FromTensors(graph, tensors));
            }
            catch
            {
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }

                throw;
            }
        }
    }

    private static void WriteNested(Utf8JsonWriter w, float[] data, long[] shape, int depth, ref int pos)
    {
        if (depth == shape.Length)
        {
            w.WriteNumberValue(data[pos++]);
            return;
        }

        w.WriteStartArray();
        for (var i = 0; i < shape[depth]; i++)
        {
            WriteNested(w, data, shape, depth + 1, ref pos);
        }

        w.WriteEndArray();
    }

    private static void ReadNested(string path, string at, JsonElement el, int depth, List<long> shape, List<float> values)
    {
        if (el.ValueKind == JsonValueKind.Number)
        {
            if (depth != shape.Count)
            {
                throw new AutoCircuitException($"{path}: {at}: ragged nested array.");
            }

            if (!el.TryGetSingle(out var value) || !float.IsFinite(value))
            {
                throw new AutoCircuitException($"{path}: {at}: {el.GetRawText()} is not a finite float32 score.");
            }

            values.Add(value);
            return;
        }

        if (el.ValueKind != JsonValueKind.Array)
        {
            throw new AutoCircuitException($"{path}: {at}: expected numbers or arrays, found {el.ValueKind}.");
        }

        var len = el.GetArrayLength();
        if (depth == shape.Count)
        {
            if (values.Count > 0)
            {
                throw new AutoCircuitException($"{path}: {at}: ragged nested array.");
            }

            shape.Add(len);
        }
        else if (shape[depth] != len)
        {
            throw new AutoCircuitException($"{path}: {at}: ragged nested array (lengths {shape[depth]} and {len}).");
        }

        foreach (var child in el.EnumerateArray())
        {
            ReadNested(path, at, child, depth + 1, shape, values);
        }
    }
}
