using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header
/// of name → dtype/shape/data_offsets plus optional <c>__metadata__</c>, then raw little-endian data).
/// </summary>
public static class Safetensors
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
