using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>One tensor of a safetensors header, checked: a known dtype, a shape of non-negative sizes whose bytes fit
/// the file, offsets relative to the data section.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">The dtype as written (<c>F32</c>, <c>BF16</c>, ...).</param>
/// <param name="Type">The torch type.</param>
/// <param name="Shape">The shape.</param>
/// <param name="Begin">First byte in the data section.</param>
/// <param name="End">One past the last byte in the data section.</param>
internal sealed record SafetensorsEntry(string Name, string DType, ScalarType Type, long[] Shape, long Begin, long End)
{
    /// <summary>Bytes of data.</summary>
    public long Length => End - Begin;
}

/// <summary>
/// A safetensors header parsed and checked against the file's size before any tensor is made, with the rules of the
/// reference implementation (huggingface/safetensors): the header length fits the file (and 100 MB), the header is a
/// UTF-8 JSON object, every tensor has a known dtype, a shape of non-negative integers whose product does not overflow,
/// and <c>data_offsets</c> of two non-negative integers whose span is exactly the shape's bytes; sorted by offset, the
/// tensors tile the data section from 0 to its end without a gap or an overlap; names are unique; <c>__metadata__</c>
/// maps strings to strings. Every refusal is an <see cref="InvalidDataException"/> naming the file and the tensor or
/// field and what was expected.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The dtypes we read, with their element sizes.</summary>
    public static readonly IReadOnlyDictionary<string, (ScalarType Type, int Size)> DTypes = new Dictionary<string, (ScalarType, int)>(StringComparer.Ordinal)
    {
        ["F32"] = (ScalarType.Float32, 4),
        ["F64"] = (ScalarType.Float64, 8),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>The header length the first 8 bytes announce, checked against <paramref name="fileLength"/>.</summary>
    /// <exception cref="InvalidDataException">Too short, or a header that cannot fit.</exception>
    public static long HeaderLength(ReadOnlySpan<byte> first8, long fileLength, string path)
    {
        if (fileLength < 8 || first8.Length < 8)
        {
            throw new InvalidDataException($"{path}: {fileLength} bytes, too short to be a safetensors file (8-byte header length, then a JSON header).");
        }

        var announced = BinaryPrimitives.ReadUInt64LittleEndian(first8);
        if (announced > MaxHeaderBytes || announced > (ulong)(fileLength - 8))
        {
            throw new InvalidDataException(
                $"{path}: the header length {announced} exceeds the file ({fileLength} bytes) or the limit of {MaxHeaderBytes} bytes; " +
                "not a safetensors file, or a truncated one.");
        }

        if (announced < 2)
        {
            throw new InvalidDataException($"{path}: the header length {announced} is too small for a JSON object.");
        }

        return (long)announced;
    }

    /// <summary>Parses and checks the header JSON of a file of <paramref name="fileLength"/> bytes.</summary>
    /// <returns>The tensors in offset order, the metadata, and where the data section starts in the file.</returns>
    /// <exception cref="InvalidDataException">The header breaks a rule; the message names the tensor or field.</exception>
    public static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) Parse(
        ReadOnlySpan<byte> header, long fileLength, string path)
    {
        var dataStart = 8 + (long)header.Length;
        var dataLength = fileLength - dataStart;
        if (dataLength < 0)
        {
            throw new InvalidDataException($"{path}: the header runs past the end of the file.");
        }

        if (!Utf8.IsValid(header))
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid UTF-8.");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({FirstSentence(e.Message)}).", e);
        }

        using (doc)
        {
            try
            {
                var (entries, metadata) = Read(doc.RootElement, path);
                CheckLayout(entries, dataLength, path);
                return (entries, metadata, dataStart);
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidDataException($"{path}: the safetensors header has text that is not valid Unicode ({FirstSentence(e.Message)}).", e);
            }
        }
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>) Read(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: the safetensors header must be a JSON object of tensors; found {root.ValueKind}.");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<SafetensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in root.EnumerateObject())
        {
            if (!names.Add(prop.Name))
            {
                throw new InvalidDataException($"{path}: the safetensors header names '{prop.Name}' twice.");
            }

            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidDataException($"{path}: __metadata__ must be an object of strings; found {prop.Value.ValueKind}.");
                }

                foreach (var m in prop.Value.EnumerateObject())
                {
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                        ? m.Value.GetString()!
                        : throw new InvalidDataException($"{path}: __metadata__.{m.Name} must be a string; found {m.Value.ValueKind}.");
                }

                continue;
            }

            entries.Add(Entry(prop.Name, prop.Value, path));
        }

        return (entries, metadata);
    }

    private static SafetensorsEntry Entry(string name, JsonElement el, string path)
    {
        var at = $"{path}: tensor '{name}'";
        if (el.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{at} must be an object with dtype, shape and data_offsets; found {el.ValueKind}.");
        }

        if (!el.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException($"{at}: missing or non-string 'dtype'.");
        }

        var dtype = dtypeEl.GetString()!;
        if (!DTypes.TryGetValue(dtype, out var type))
        {
            throw new InvalidDataException($"{at} has unsupported dtype {dtype} (supported: {string.Join(", ", DTypes.Keys)}).");
        }

        var shape = Integers(el, "shape", at, count: null);
        var offsets = Integers(el, "data_offsets", at, count: 2);
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
        {
            throw new InvalidDataException($"{at}: data_offsets [{begin}, {end}] end before they begin.");
        }

        // The product of the sizes and its bytes, without overflow: a shape that cannot fit in 2^63 bytes is refused.
        var bytes = (long)type.Size;
        foreach (var size in shape)
        {
            if (size != 0 && bytes > long.MaxValue / size)
            {
                throw new InvalidDataException($"{at}: shape [{string.Join(", ", shape)}] of {dtype} overflows (more than 2^63 bytes).");
            }

            bytes *= size;
        }

        if (end - begin != bytes)
        {
            throw new InvalidDataException(
                $"{at}: data_offsets [{begin}, {end}] span {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtype} " +
                $"needs {bytes}.");
        }

        return new SafetensorsEntry(name, dtype, type.Type, shape, begin, end);
    }

    /// <summary>An array of non-negative integers (no fractions, exponents or floats).</summary>
    private static long[] Integers(JsonElement el, string field, string at, int? count)
    {
        if (!el.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{at}: missing '{field}' (an array of non-negative integers).");
        }

        var length = array.GetArrayLength();
        if (count is int n && length != n)
        {
            throw new InvalidDataException($"{at}: '{field}' must hold {n} integers; found {length}.");
        }

        if (length > 64)
        {
            throw new InvalidDataException($"{at}: '{field}' has {length} entries (at most 64 dimensions).");
        }

        var values = new long[length];
        var i = 0;
        foreach (var v in array.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var value) || value < 0)
            {
                throw new InvalidDataException($"{at}: {field}[{i}] is {v.GetRawText()}; expected a non-negative integer.");
            }

            values[i++] = value;
        }

        return values;
    }

    /// <summary>Sorted by offset, the tensors must tile the data section exactly: no gap, no overlap, no byte past it.</summary>
    private static void CheckLayout(List<SafetensorsEntry> entries, long dataLength, string path)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin != expected)
            {
                throw new InvalidDataException(
                    e.Begin < expected
                        ? $"{path}: tensor '{e.Name}' (data_offsets [{e.Begin}, {e.End}]) overlaps tensor '{previous!.Name}' ([{previous.Begin}, {previous.End}])."
                        : $"{path}: tensor '{e.Name}' starts at data offset {e.Begin}, leaving a gap after offset {expected}.");
            }

            if (e.End > dataLength)
            {
                throw new InvalidDataException(
                    $"{path}: tensor '{e.Name}' (data_offsets [{e.Begin}, {e.End}]) runs past the end of the data ({dataLength} bytes); " +
                    "the file is truncated.");
            }

            expected = e.End;
            previous = e;
        }

        if (expected != dataLength)
        {
            throw new InvalidDataException(
                $"{path}: the tensors cover {expected} bytes of data, but the file holds {dataLength} after the header.");
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).ReplaceLineEndings(" ");
    }
}
