using System.Text.Json;
using AutoCircuit.Engine;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// A sharded checkpoint's index (<c>model.safetensors.index.json</c>, <c>pytorch_model.bin.index.json</c>): its
/// <c>weight_map</c> of tensor name → shard file, checked before any shard is read: every value a plain file name
/// (no folder, no <c>..</c>) of a file that exists next to the index.
/// </summary>
internal static class ShardIndex
{
    /// <summary>The shard files, in order of first mention, as full paths.</summary>
    /// <exception cref="AutoCircuitException">Invalid JSON, no <c>weight_map</c>, a bad or missing shard; the message names
    /// the index and the shard.</exception>
    public static List<string> Files(string indexPath)
    {
        ArgumentNullException.ThrowIfNull(indexPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new AutoCircuitException($"{indexPath}: missing field 'weight_map' (an object of tensor name -> shard file).");
            }

            var files = new List<string>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() is not { Length: > 0 } name)
                {
                    throw new AutoCircuitException($"{indexPath}: weight_map.{p.Name} must be a shard file name; found {p.Value.GetRawText()}.");
                }

                if (name != Path.GetFileName(name) || name is "." or "..")
                {
                    throw new AutoCircuitException(
                        $"{indexPath}: weight_map.{p.Name} is '{name}'; a shard must be a file name next to the index, not a path.");
                }

                var full = Path.Combine(folder, name);
                if (!files.Contains(full, StringComparer.Ordinal))
                {
                    if (!File.Exists(full))
                    {
                        throw new AutoCircuitException($"{indexPath}: weight_map names the shard '{name}' (for tensor '{p.Name}'), which is not in {folder}.");
                    }

                    files.Add(full);
                }
            }

            return files.Count > 0 ? files : throw new AutoCircuitException($"{indexPath}: weight_map is empty.");
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{indexPath}: not valid JSON ({e.Message.ReplaceLineEndings(" ")}).", e);
        }
        catch (InvalidOperationException e)
        {
            throw new AutoCircuitException($"{indexPath}: text that is not valid Unicode ({e.Message.ReplaceLineEndings(" ")}).", e);
        }
    }
}
