using AutoCircuit.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// The tensors of a checkpoint by name, remembering which file each came from, handed out one at a time in their
/// stored dtype with their shape checked. Safetensors files are memory-mapped and a tensor is read only when it is
/// taken (<see cref="Take"/>), so a loader that copies each into the model and disposes it holds one at a time;
/// <c>pytorch_model.bin</c> files are unpickled whole. Errors name the file and the tensor.
/// </summary>
internal sealed class CheckpointTensors : IDisposable
{
    private static readonly HashSet<ScalarType> FloatTypes =
        [ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Float64];

    private readonly Dictionary<string, Entry> _tensors = new(StringComparer.Ordinal);
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    private readonly List<SafetensorsFile> _files = [];
    private string? _addedPrefix; // see AddPrefixIfAbsent: messages name tensors as the files do

    /// <summary>What the tensors came from (a file or a folder), for messages.</summary>
    public string Source { get; private set; } = string.Empty;

    /// <summary>Every tensor name.</summary>
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>
    /// Opens a Hugging Face folder's weights: <c>model.safetensors</c>, sharded safetensors
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
                if (safetensors)
                {
                    result.AddSafetensors(file);
                }
                else
                {
                    result.Add(file, PytorchCheckpoint.Read(file));
                }
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

    /// <summary>Wraps tensors already read (e.g. from a llama2.c file); they become this object's.</summary>
    public static CheckpointTensors FromTensors(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var result = new CheckpointTensors { Source = file };
        result.Add(file, tensors);
        return result;
    }

    /// <summary>Whether a tensor of this name exists.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>
    /// The tensor <paramref name="name"/> with exactly <paramref name="shape"/>, in its stored floating-point dtype;
    /// marks it used. The result is the caller's to dispose (a fresh read for safetensors).
    /// </summary>
    /// <exception cref="AutoCircuitException">Missing, wrong shape, or not a floating-point dtype.</exception>
    public Tensor Take(string name, params long[] shape) => CheckEntry(name, shape).Read();

    /// <summary>
    /// Copies the tensor <paramref name="name"/> into <paramref name="destination"/> (same shape; any floating dtype):
    /// from a safetensors file straight from its memory map in chunks, so no copy of the whole tensor is made.
    /// </summary>
    /// <exception cref="AutoCircuitException">Missing, another shape, or not a floating-point dtype.</exception>
    public void ReadInto(string name, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var entry = CheckEntry(name, destination.shape);
        if (entry.ReadInto is { } readInto)
        {
            readInto(destination);
            return;
        }

        using var t = entry.Read();
        destination.copy_(t);
    }

    /// <summary>
    /// Makes <paramref name="destination"/> (a contiguous CPU tensor of the stored dtype and shape, e.g. a parameter)
    /// hold the stored tensor's pages instead of a copy of them (<see cref="SafetensorsFile.Share"/>: memory-mapped,
    /// copy on write), so a model loaded in its stored dtype is page cache rather than the process's own memory. False
    /// (nothing changed) where it cannot: another dtype or device, a pickle, an unaligned tensor; then
    /// <see cref="ReadInto"/> copies it.
    /// </summary>
    /// <exception cref="AutoCircuitException">Missing, another shape, or not a floating-point dtype.</exception>
    public bool TryShare(string name, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var entry = CheckEntry(name, destination.shape);
        if (entry.Share is null || entry.DType != destination.dtype || destination.device_type != DeviceType.CPU || !destination.is_contiguous())
        {
            return false;
        }

        using var shared = entry.Share();
        if (shared is null)
        {
            return false;
        }

        using var _ = no_grad();
        var set = destination.set_(shared);
        if (!ReferenceEquals(set, destination))
        {
            set.Dispose(); // TorchSharp returns the tensor itself; a separate handle would be ours
        }

        return true;
    }

    /// <summary>Checks, without reading it, that <paramref name="name"/> exists with <paramref name="shape"/> and a
    /// floating-point dtype; marks it used.</summary>
    /// <exception cref="AutoCircuitException">Missing, wrong shape, or not a floating-point dtype.</exception>
    public void Check(string name, params long[] shape) => _ = CheckEntry(name, shape);

    private Entry CheckEntry(string name, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!_tensors.TryGetValue(name, out var entry))
        {
            throw new AutoCircuitException($"{Source}: missing tensor '{Stored(name)}' (expected shape [{string.Join(", ", shape)}]).");
        }

        if (entry.DType is not { } dtype || !FloatTypes.Contains(dtype))
        {
            throw new AutoCircuitException(
                $"{entry.File}: tensor '{Stored(name)}' has unsupported dtype {entry.DType?.ToString() ?? entry.DTypeName} (weights must be float32, float16, bfloat16 or float64).");
        }

        if (!entry.Shape.SequenceEqual(shape))
        {
            throw new AutoCircuitException(
                $"{entry.File}: tensor '{Stored(name)}' has shape [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", shape)}].");
        }

        _taken.Add(name);
        return entry;
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

    /// <summary>
    /// Gives every tensor the prefix <paramref name="prefix"/>, except <paramref name="rootNames"/>, when no tensor has it:
    /// a base model saved without its head (e.g. <c>h.0.…</c> instead of <c>transformer.h.0.…</c>).
    /// </summary>
    public void AddPrefixIfAbsent(string prefix, IReadOnlyCollection<string> rootNames)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(rootNames);
        if (prefix.Length == 0 || _tensors.Keys.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return;
        }

        foreach (var name in _tensors.Keys.Where(n => !rootNames.Contains(n)).ToList())
        {
            _tensors[prefix + name] = _tensors[name];
            _tensors.Remove(name);
        }

        _addedPrefix = prefix;
    }

    /// <summary>Throws when a tensor was neither taken nor ignored: the checkpoint is not the architecture we built.</summary>
    public void EnsureAllUsed(string architecture)
    {
        var unused = _tensors.Keys.Where(n => !_taken.Contains(n)).Select(Stored).OrderBy(n => n, StringComparer.Ordinal).ToList();
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
        foreach (var entry in _tensors.Values)
        {
            entry.Loaded?.Dispose();
        }

        foreach (var file in _files)
        {
            file.Dispose();
        }

        _tensors.Clear();
        _files.Clear();
    }

    /// <summary>A tensor's name as its file has it.</summary>
    private string Stored(string name) =>
        _addedPrefix is { } p && name.StartsWith(p, StringComparison.Ordinal) ? name[p.Length..] : name;

    private void AddSafetensors(string file)
    {
        var opened = SafetensorsFile.Open(file);
        _files.Add(opened);
        foreach (var e in opened.Entries.Values)
        {
            AddEntry(e.Name, new Entry(file, e.Type, e.DType, e.Shape, null, () => opened.Read(e.Name), d => opened.ReadInto(e.Name, d), () => opened.Share(e.Name)));
        }
    }

    private void Add(string file, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            AddEntry(name, new Entry(file, t.dtype, t.dtype.ToString(), t.shape, t, t.alias));
        }
    }

    private void AddEntry(string name, Entry entry)
    {
        if (!_tensors.TryAdd(name, entry))
        {
            throw new AutoCircuitException($"{entry.File}: tensor '{name}' also appears in {_tensors[name].File}.");
        }
    }

    /// <summary>A tensor's metadata and how to read it (<paramref name="Loaded"/>: already in memory, owned here;
    /// <paramref name="ReadInto"/>: a direct copy into a tensor of the same shape, where the format allows it;
    /// <paramref name="Share"/>: the stored pages as a tensor, no copy, where the format allows it).</summary>
    private sealed record Entry(string File, ScalarType? DType, string DTypeName, long[] Shape, Tensor? Loaded, Func<Tensor> Read, Action<Tensor>? ReadInto = null, Func<Tensor?>? Share = null);
}
