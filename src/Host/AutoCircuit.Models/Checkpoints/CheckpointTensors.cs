using System.Text.Json;
using AutoCircuit.Engine;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// The tensors of a checkpoint by name, remembering which file each came from, handed out once
/// each as float32 with their shape checked. Errors name the file and the tensor.
/// </summary>
public sealed class CheckpointTensors : IDisposable
{
    private static readonly HashSet<ScalarType> FloatTypes =
        [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64];

    private readonly Dictionary<string, (Tensor Tensor, string File)> _tensors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    /// <summary>What the tensors came from (a file or a folder), for messages.</summary>
    public string Source { get; private set; } = string.Empty;

    /// <summary>Every tensor name.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>
    /// Reads a Hugging Face folder's weights: <c>model.safetensors</c>, sharded safetensors
    /// (<c>model.safetensors.index.json</c>), <c>pytorch_model.bin</c> or sharded bins, in that order of preference.
    /// </summary>
    /// <exception cref="AutoCircuitException">No weights file, or one that cannot be read.</exception>
    public static CheckpointTensors FromHuggingFaceFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var (files, safetensors) = WeightFiles(folder);
        var result = new CheckpointTensors { Source = folder };
        try
        {
            foreach (var file in files)
            {
                result.Add(file, safetensors ? ReadSafetensors(file) : PytorchCheckpoint.Read(file));
            }
        }
        catch
        {
            result.Dispose();
            throw;
        }

        return result;
    }

    /// <summary>
    /// The weight files <see cref="FromHuggingFaceFolder"/> reads, found and checked (a sharded index's shards must all
    /// exist) before anything is read: whether they are safetensors, else pickles.
    /// </summary>
    /// <exception cref="AutoCircuitException">No weights, or a bad index.</exception>
    internal static (List<string> Files, bool Safetensors) WeightFiles(string folder)
    {
        foreach (var (single, index, safetensors) in new[]
                 {
                     ("model.safetensors", "model.safetensors.index.json", true),
                     ("pytorch_model.bin", "pytorch_model.bin.index.json", false),
                 })
        {
            if (File.Exists(Path.Combine(folder, single)))
            {
                return ([Path.Combine(folder, single)], safetensors);
            }

            if (File.Exists(Path.Combine(folder, index)))
            {
                return (ShardIndex.Files(Path.Combine(folder, index)), safetensors);
            }
        }

        throw new AutoCircuitException(
            $"{folder}: no weights found (expected model.safetensors, model.safetensors.index.json or pytorch_model.bin).");
    }

    /// <summary>Wraps tensors already read (e.g. from a llama2.c file).</summary>
    public static CheckpointTensors FromTensors(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var result = new CheckpointTensors { Source = file };
        result.Add(file, tensors);
        return result;
    }

    /// <summary>Whether a tensor of this name exists.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>
    /// The tensor <paramref name="name"/> as float32 with exactly <paramref name="shape"/>; marks it used.
    /// </summary>
    /// <exception cref="AutoCircuitException">Missing, wrong shape, or not a floating-point dtype.</exception>
    public Tensor Take(string name, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!_tensors.TryGetValue(name, out var entry))
        {
            throw new AutoCircuitException($"{Source}: missing tensor '{name}' (expected shape [{string.Join(", ", shape)}]).");
        }

        var (t, file) = entry;
        if (!FloatTypes.Contains(t.dtype))
        {
            throw new AutoCircuitException(
                $"{file}: tensor '{name}' has unsupported dtype {t.dtype} (weights must be float32, float16, bfloat16 or float64).");
        }

        if (!t.shape.SequenceEqual(shape))
        {
            throw new AutoCircuitException(
                $"{file}: tensor '{name}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", shape)}].");
        }

        _taken.Add(name);
        return t.dtype == ScalarType.Float32 ? t.alias() : t.to_type(ScalarType.Float32);
    }

    /// <summary>Marks tensors as deliberately unused (e.g. attention-mask buffers of old checkpoints).</summary>
    public void Ignore(Func<string, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        foreach (var name in _tensors.Keys.Where(predicate))
        {
            _taken.Add(name);
        }
    }

    /// <summary>Renames every tensor that starts with <paramref name="prefix"/> by removing the prefix (none: nothing changes).</summary>
    public void StripPrefix(string prefix)
    {
        foreach (var name in _tensors.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            var stripped = name[prefix.Length..];
            if (_tensors.ContainsKey(stripped))
            {
                throw new AutoCircuitException($"{_tensors[name].File}: both '{name}' and '{stripped}' are present.");
            }

            _tensors[stripped] = _tensors[name];
            _tensors.Remove(name);
        }
    }

    /// <summary>Throws when a tensor was neither taken nor ignored: the checkpoint is not the architecture we built.</summary>
    public void EnsureAllUsed(string architecture)
    {
        var unused = _tensors.Keys.Where(n => !_taken.Contains(n)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            var shown = string.Join("', '", unused.Take(5));
            throw new AutoCircuitException(
                $"{Source}: unexpected tensor{(unused.Count > 1 ? "s" : string.Empty)} '{shown}'{(unused.Count > 5 ? $" (+{unused.Count - 5} more)" : string.Empty)} " +
                $"for a {architecture} model.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (t, _) in _tensors.Values)
        {
            t.Dispose();
        }

        _tensors.Clear();
    }

    private void Add(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            if (!_tensors.TryAdd(name, (t, file)))
            {
                throw new AutoCircuitException($"{file}: tensor '{name}' also appears in {_tensors[name].File}.");
            }
        }
    }

    private static List<KeyValuePair<string, Tensor>> ReadSafetensors(string file)
    {
        try
        {
            return Safetensors.Read(file).Tensors;
        }
        catch (InvalidDataException e)
        {
            throw new AutoCircuitException(e.Message, e);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AutoCircuitException($"{file}: the safetensors header is not valid ({e.Message}).", e);
        }
    }
}
