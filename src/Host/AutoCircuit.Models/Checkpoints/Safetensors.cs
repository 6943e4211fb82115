using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header
/// of name → dtype/shape/data_offsets plus optional <c>__metadata__</c>, then raw little-endian data).
/// </summary>
internal static class Safetensors
{
    private static readonly Dictionary<ScalarType, (string Name, int Size)> Types = new()
    {
        [ScalarType.Float32] = ("F32", 4),
        [ScalarType.Float64] = ("F64", 8),
        [ScalarType.Float16] = ("F16", 2),
        [ScalarType.BFloat16] = ("BF16", 2),
        [ScalarType.Int64] = ("I64", 8),
        [ScalarType.Int32] = ("I32", 4),
        [ScalarType.Int16] = ("I16", 2),
        [ScalarType.Int8] = ("I8", 1),
        [ScalarType.Byte] = ("U8", 1),
        [ScalarType.Bool] = ("BOOL", 1),
    };

    /// <summary>The element type of a header dtype name (<c>F32</c>, <c>BF16</c>, ...), or <c>null</c> for one we do not read.</summary>
    internal static ScalarType? TypeOf(string name) =>
        Types.FirstOrDefault(t => t.Value.Name == name) is { Value.Name: not null } found ? found.Key : null;

    /// <summary>Bytes per element of a header dtype name, or <c>null</c> when unknown.</summary>
    internal static int? SizeOf(string name) => TypeOf(name) is { } t ? Types[t].Size : null;

    /// <summary>The header dtype name of an element type (<c>F32</c>, <c>BF16</c>, ...).</summary>
    /// <exception cref="NotSupportedException">A type safetensors output does not support here.</exception>
    internal static string NameOf(ScalarType type) =>
        Types.TryGetValue(type, out var info) ? info.Name : throw new NotSupportedException($"safetensors output does not support {type}.");

    /// <summary>Writes tensors (in the given order) and string metadata to a stream.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        var items = tensors.ToList();
        var blobs = new List<byte[]>(items.Count);
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
        {
            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach (var (name, tensor) in items)
        {
            if (!Types.TryGetValue(tensor.dtype, out var info))
            {
                throw new NotSupportedException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors output does not support here.");
            }

            using var cpu = tensor.detach().cpu().contiguous();
            var bytes = cpu.bytes.ToArray();
            blobs.Add(bytes);
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = info.Name,
                ["shape"] = tensor.shape,
                ["data_offsets"] = new[] { offset, offset + bytes.Length },
            };
            offset += bytes.Length;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var padded = (json.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var b in blobs)
        {
            stream.Write(b);
        }
    }

    /// <summary>
    /// Writes a file tensor by tensor: the header from <paramref name="entries"/> (name, dtype, shape) first, then each
    /// tensor as <paramref name="make"/> produces it (written, then disposed), so a file of any size needs one tensor
    /// in memory. Returns the bytes of tensor data.
    /// </summary>
    internal static long WriteStreaming(
        string path, IReadOnlyList<(string Name, ScalarType DType, long[] Shape)> entries, Func<string, Tensor> make,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 })
        {
            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach (var (name, dtype, shape) in entries)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * Types[dtype].Size;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = NameOf(dtype),
                ["shape"] = shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        var padded = (json.Length + 7) / 8 * 8;
        using var fs = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        fs.Write(len);
        fs.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            fs.WriteByte((byte)' ');
        }

        const long chunk = 256L << 20; // Span<byte> is int-indexed
        foreach (var (name, dtype, shape) in entries)
        {
            // One scope per tensor: the chain below makes intermediate handles (detach, cpu, to_type) that alias the
            // made tensor's storage; left to the finalizer they kept every written tensor alive (an 8B checkpoint
            // grew to its full size in anonymous memory).
            using var scope = NewDisposeScope();
            var made = make(name);
            var t = made.detach().cpu().to_type(dtype).contiguous();
            if (!t.shape.SequenceEqual(shape))
            {
                throw new InvalidOperationException($"Tensor '{name}' was made with shape [{string.Join(", ", t.shape)}], declared [{string.Join(", ", shape)}].");
            }

            var flat = t.view(-1);
            var perChunk = Math.Max(1, chunk / Types[dtype].Size);
            for (long first = 0; first < flat.numel(); first += perChunk)
            {
                using var part = flat.narrow(0, first, Math.Min(perChunk, flat.numel() - first));
                fs.Write(part.bytes);
            }
        }

        return offset;
    }

    /// <summary>Writes tensors to a file.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var fs = File.Create(path);
        Write(fs, tensors, metadata);
    }

    /// <summary>Reads only the metadata of a file (the header, checked by <see cref="SafetensorsHeader"/>), not the tensors.</summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors.</exception>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> len = stackalloc byte[8];
        var got = fs.ReadAtLeast(len, 8, throwOnEndOfStream: false);
        var headerLen = SafetensorsHeader.HeaderLength(len[..got], fs.Length, path);
        var header = new byte[headerLen];
        fs.ReadExactly(header);
        return SafetensorsHeader.Parse(header, fs.Length, path).Metadata;
    }

    /// <summary>
    /// Reads every tensor of a file (CPU) in file order, and the metadata.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names it.</exception>
    public static (List<KeyValuePair<string, Tensor>> Tensors, Dictionary<string, string> Metadata) Read(string path) =>
        Read(File.ReadAllBytes(path), path);

    /// <summary>Reads every tensor of safetensors bytes (CPU) in file order, and the metadata; <paramref name="path"/>
    /// names the source in error messages.</summary>
    /// <exception cref="InvalidDataException">The bytes are not valid safetensors.</exception>
    public static (List<KeyValuePair<string, Tensor>> Tensors, Dictionary<string, string> Metadata) Read(byte[] bytes, string path)
    {
        ArgumentNullException.ThrowIfNull(bytes);

        // Every offset, shape and dtype is checked against the file's size before any tensor is made.
        var headerLen = SafetensorsHeader.HeaderLength(bytes, bytes.Length, path);
        var (entries, metadata, dataStart) = SafetensorsHeader.Parse(bytes.AsSpan(8, (int)headerLen), bytes.Length, path);
        var tensors = new List<KeyValuePair<string, Tensor>>(entries.Count);
        try
        {
            foreach (var e in entries)
            {
                var t = torch.empty(e.Shape, dtype: e.Type);
                bytes.AsSpan((int)(dataStart + e.Begin), (int)e.Length).CopyTo(t.bytes);
                tensors.Add(new KeyValuePair<string, Tensor>(e.Name, t.DetachFromDisposeScope()));
            }
        }
        catch
        {
            foreach (var (_, t) in tensors)
            {
                t.Dispose();
            }

            throw;
        }

        return (tensors, metadata);
    }
}
