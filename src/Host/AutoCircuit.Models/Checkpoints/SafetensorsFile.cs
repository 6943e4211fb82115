using System.IO.MemoryMappedFiles;
using AutoCircuit.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// A safetensors file opened for reading tensor by tensor through a memory map: the header is parsed and checked
/// (sizes, offsets, shapes) before any tensor is read, and reading one tensor maps and copies only its bytes, so a
/// loader holds the model plus one tensor, never the file.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    // Copies go through chunks this large: Span<byte> is int-indexed, tensors (a 256k-token embedding) can be larger,
    // and a conversion (bfloat16 file, float32 model) needs a buffer of one chunk, not of the tensor.
    private const long ChunkBytes = 64L << 20;

    private readonly MemoryMappedFile? _map;
    private readonly long _dataStart;
    private readonly long _length;
    private readonly Dictionary<ScalarType, Tensor> _shared = [];

    private SafetensorsFile(string path, MemoryMappedFile? map, long length, long dataStart, Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _length = length;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Every tensor by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The header's <c>__metadata__</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and checks <paramref name="path"/>.</summary>
    /// <exception cref="AutoCircuitException">Not a readable safetensors file; the message names it and what is wrong.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        long length;
        List<SafetensorsEntry> entries;
        Dictionary<string, string> metadata;
        long dataStart;
        try
        {
            // The header is checked against the file's size (SafetensorsHeader) before anything is mapped.
            using var fs = File.OpenRead(path);
            length = fs.Length;
            Span<byte> len = stackalloc byte[8];
            var got = fs.ReadAtLeast(len, 8, throwOnEndOfStream: false);
            var header = new byte[SafetensorsHeader.HeaderLength(len[..got], length, path)];
            fs.ReadExactly(header);
            (entries, metadata, dataStart) = SafetensorsHeader.Parse(header, length, path);
        }
        catch (InvalidDataException e)
        {
            throw new AutoCircuitException(e.Message, e);
        }

        var map = length > dataStart ? MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read) : null;
        return new SafetensorsFile(path, map, length, dataStart, entries.ToDictionary(e => e.Name, StringComparer.Ordinal), metadata);
    }

    /// <summary>A new CPU tensor with the stored bytes of <paramref name="name"/>, in its stored dtype.</summary>
    /// <exception cref="AutoCircuitException">Unknown name or a dtype we do not read.</exception>
    public Tensor Read(string name)
    {
        var e = Entry(name);
        var t = torch.empty(e.Shape, dtype: e.Type);
        try
        {
            ReadInto(name, t);
        }
        catch
        {
            t.Dispose();
            throw;
        }

        return t;
    }

    /// <summary>
    /// Copies <paramref name="name"/> into <paramref name="destination"/> (its shape; any dtype, converted on the way),
    /// <paramref name="chunkBytes"/> of the file at a time: a contiguous CPU destination of the stored dtype gets the
    /// bytes directly, one of another dtype through a buffer of one chunk; any other destination through a whole copy.
    /// </summary>
    /// <exception cref="AutoCircuitException">Unknown name, a dtype we do not read, or another shape.</exception>
    public void ReadInto(string name, Tensor destination, long chunkBytes = ChunkBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var e = Entry(name);
        if (!destination.shape.SequenceEqual(e.Shape))
        {
            throw new AutoCircuitException(
                $"{Path}: tensor '{name}' has shape [{string.Join(", ", e.Shape)}], expected [{string.Join(", ", destination.shape)}].");
        }

        var count = destination.numel();
        if (count == 0)
        {
            return;
        }

        if (destination.device_type != DeviceType.CPU || !destination.is_contiguous())
        {
            using var whole = Read(name);
            destination.copy_(whole);
            return;
        }

        var dtype = e.Type;
        var elementSize = (e.End - e.Begin) / count;
        using var all = destination.view(-1);
        using var flat = destination.dtype == dtype ? all.alias() : null;
        var perChunk = Math.Max(1, chunkBytes / elementSize);
        for (long first = 0; first < count; first += perChunk)
        {
            var n = Math.Min(perChunk, count - first);
            using var view = _map!.CreateViewStream(_dataStart + e.Begin + (first * elementSize), n * elementSize, MemoryMappedFileAccess.Read);
            if (flat is not null)
            {
                using var part = flat.narrow(0, first, n);
                view.ReadExactly(part.bytes);
                continue;
            }

            using var buffer = torch.empty(n, dtype: dtype);
            view.ReadExactly(buffer.bytes);
            using var target = all.narrow(0, first, n);
            target.copy_(buffer); // converts to the destination's dtype
        }
    }

    /// <summary>
    /// <paramref name="name"/> as a CPU tensor over the file's own pages, in its stored dtype, without copying: the file
    /// is mapped privately (copy on write: writing to the tensor changes a private copy of the page, never the file),
    /// so its bytes are the kernel's page cache, read when first touched and reclaimable under memory pressure, instead
    /// of the process's own memory. The mapping lives as long as any tensor over it. Null for an empty tensor or one
    /// whose offset in the file is not a multiple of its element size (a tensor must be aligned to its elements).
    /// </summary>
    /// <exception cref="AutoCircuitException">Unknown name.</exception>
    public Tensor? Share(string name)
    {
        var e = Entry(name);
        var count = e.Shape.Aggregate(1L, (a, b) => a * b);
        if (count == 0 || _map is null)
        {
            return null;
        }

        var elementSize = e.Length / count;
        var offset = _dataStart + e.Begin;
        if (offset % elementSize != 0)
        {
            return null;
        }

        if (!_shared.TryGetValue(e.Type, out var whole))
        {
            // The whole file as elements of this dtype; shared: false maps it MAP_PRIVATE (libtorch's MapAllocator).
            whole = torch.from_file(Path, shared: false, size: _length / elementSize, dtype: e.Type);
            _shared[e.Type] = whole;
        }

        using var flat = whole.narrow(0, offset / elementSize, count);
        return flat.view(e.Shape);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Tensors handed out by Share keep their mapping alive; only these handles go.
        foreach (var t in _shared.Values)
        {
            t.Dispose();
        }

        _shared.Clear();
        _map?.Dispose();
    }

    private SafetensorsEntry Entry(string name)
    {
        if (!Entries.TryGetValue(name, out var e))
        {
            throw new AutoCircuitException($"{Path}: no tensor '{name}'.");
        }

        return e;
    }
}
