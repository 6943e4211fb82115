using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using AutoCircuit.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>
/// Reads a <c>torch.save</c> state dict (<c>pytorch_model.bin</c>: a zip with <c>data.pkl</c> and
/// one raw little-endian file per storage) with a restricted unpickler: a small pickle machine of
/// our own that knows only the opcodes a state dict uses and accepts only the globals that rebuild
/// tensors (<c>torch._utils._rebuild_tensor_v2</c>, <c>torch._utils._rebuild_parameter</c>, the
/// <c>torch.*Storage</c> types, <c>collections.OrderedDict</c>). Anything else — any other global,
/// an object constructor, an unknown opcode — is refused with an error: a checkpoint is data,
/// never code.
/// </summary>
internal static class PytorchCheckpoint
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>Reads every tensor of the state dict (CPU, contiguous) in file order.</summary>
    /// <exception cref="AutoCircuitException">Not a zip <c>torch.save</c> file, not a plain state dict, or a refused pickle global; the message names the file.</exception>
    public static List<KeyValuePair<string, Tensor>> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return ReadArchive(path);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            // A zip whose directory parsed but whose entries do not (bad compressed data, lengths that lie).
            throw new AutoCircuitException($"{path}: a damaged zip archive ({e.Message.ReplaceLineEndings(" ")}).", e);
        }
    }

    /// <summary>The largest <c>data.pkl</c> read (a state dict's pickle is kilobytes; this stops a zip bomb).</summary>
    private const long MaxPickleBytes = 64L << 20;

    private static List<KeyValuePair<string, Tensor>> ReadArchive(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        if (stream.Read(magic) != 2 || magic[0] != (byte)'P' || magic[1] != (byte)'K')
        {
            throw new AutoCircuitException(
                $"{path}: not a zip torch.save file (the legacy format of PyTorch < 1.6 is not supported; re-save it with a recent PyTorch or convert it to safetensors).");
        }

        stream.Position = 0;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read);
        }
        catch (InvalidDataException e)
        {
            throw new AutoCircuitException($"{path}: not a readable zip file ({e.Message}).");
        }

        using (zip)
        {
            var pkl = zip.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)).ToList();
            if (pkl.Count != 1)
            {
                throw new AutoCircuitException($"{path}: expected one data.pkl in the archive, found {pkl.Count}.");
            }

            var prefix = pkl[0].FullName[..^"data.pkl".Length];
            var byteOrder = zip.GetEntry(prefix + "byteorder");
            if (byteOrder is not null)
            {
                using var r = new StreamReader(byteOrder.Open());
                var order = r.ReadToEnd().Trim();
                if (order != "little")
                {
                    throw new AutoCircuitException($"{path}: storages are {order}-endian; only little-endian checkpoints are supported.");
                }
            }

            if (pkl[0].Length > MaxPickleBytes)
            {
                throw new AutoCircuitException($"{path}: {pkl[0].FullName} is {pkl[0].Length} bytes; a state dict's pickle is far smaller.");
            }

            var pickle = new byte[pkl[0].Length];
            using (var s = pkl[0].Open())
            {
                s.ReadExactly(pickle);
            }

            var root = new Unpickler(pickle, path).Load();
            if (root is not PickleDict dict)
            {
                throw new AutoCircuitException($"{path}: the pickle holds a {Describe(root)}, not a state dict.");
            }

            var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var result = new List<KeyValuePair<string, Tensor>>(dict.Count);
            try
            {
                foreach (var (key, value) in dict)
                {
                    if (key is not string name || value is not TensorRef tensor)
                    {
                        throw new AutoCircuitException(
                            $"{path}: not a plain state dict: entry {Describe(key)} holds a {Describe(value)} (expected tensors by name).");
                    }

                    if (!storages.TryGetValue(tensor.Storage.Key, out var storage))
                    {
                        storage = ReadStorage(zip, prefix, tensor.Storage, path);
                        storages[tensor.Storage.Key] = storage;
                    }

                    CheckView(tensor, name, path);
                    using var view = storage.as_strided(tensor.Size, tensor.Stride, tensor.Offset);
                    result.Add(new(name, view.contiguous().clone().DetachFromDisposeScope()));
                }
            }
            finally
            {
                foreach (var s in storages.Values)
                {
                    s.Dispose();
                }
            }

            return result;
        }
    }

    /// <summary>A tensor's view must lie inside its storage: non-negative offset, sizes and strides, one size per
    /// stride, and its last element before the storage's end (libtorch would throw on it).</summary>
    private static void CheckView(TensorRef t, string name, string path)
    {
        var bad = t.Offset < 0 || t.Size.Length != t.Stride.Length || t.Size.Length > 64 || t.Size.Any(x => x < 0) || t.Stride.Any(x => x < 0);
        if (!bad && t.Size.All(x => x > 0))
        {
            // The last element's index, in doubles: huge sizes or strides cannot wrap around.
            var last = t.Offset + t.Size.Zip(t.Stride, (size, stride) => (double)(size - 1) * stride).Sum();
            bad = last >= t.Storage.Numel;
        }

        if (bad)
        {
            throw new AutoCircuitException(
                $"{path}: tensor '{name}' (size [{string.Join(", ", t.Size)}], stride [{string.Join(", ", t.Stride)}], offset {t.Offset}) " +
                $"does not fit its storage '{t.Storage.Key}' of {t.Storage.Numel} elements.");
        }
    }

    private static Tensor ReadStorage(ZipArchive zip, string prefix, StorageRef storage, string path)
    {
        var entry = zip.GetEntry($"{prefix}data/{storage.Key}")
            ?? throw new AutoCircuitException($"{path}: storage '{storage.Key}' is missing from the archive.");
        var size = (double)storage.Numel * storage.DType.ElementSize();
        if (storage.Numel < 0 || entry.Length != size)
        {
            throw new AutoCircuitException(
                $"{path}: storage '{storage.Key}' has {entry.Length} bytes, expected {size} ({storage.Numel} x {storage.DType}).");
        }

        var t = torch.empty(storage.Numel, dtype: storage.DType);
        using var s = entry.Open();
        s.ReadExactly(t.bytes);
        return t.DetachFromDisposeScope();
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string s => $"'{s}'",
        TensorRef => "tensor",
        PickleDict => "dict",
        _ => o.GetType().Name,
    };

    private static int ElementSize(this ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    private sealed record StorageRef(string Key, ScalarType DType, long Numel);

    private sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>An allowed global: a storage type or one of the rebuild functions.</summary>
    private sealed record Global(string Name);

    private sealed class Mark;

    /// <summary>A dict (or OrderedDict) in insertion order.</summary>
    private sealed class PickleDict : List<KeyValuePair<object?, object?>>;

    /// <summary>The pickle machine: a stack, a memo, and the handful of opcodes <c>torch.save</c> emits.</summary>
    private sealed class Unpickler(byte[] data, string path)
    {
        private readonly List<object?> _stack = [];
        private readonly Dictionary<long, object?> _memo = [];
        private int _pos;

        public object? Load()
        {
            while (true)
            {
                var op = Byte();
                switch (op)
                {
                    case 0x80: Byte(); break; // PROTO
                    case 0x95: Bytes(8); break; // FRAME
                    case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                    case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                    case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'(': Push(new Mark()); break; // MARK
                    case (byte)'t': Push(PopToMark().ToArray()); break; // TUPLE
                    case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'q': _memo[Byte()] = Peek(); break; // BINPUT
                    case (byte)'r': _memo[UInt32()] = Peek(); break; // LONG_BINPUT
                    case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                    case (byte)'h': Push(Memo(Byte())); break; // BINGET
                    case (byte)'j': Push(Memo(UInt32())); break; // LONG_BINGET
                    case (byte)'X': Push(Utf8(UInt32())); break; // BINUNICODE
                    case 0x8c: Push(Utf8(Byte())); break; // SHORT_BINUNICODE
                    case (byte)'T': Push(Utf8(UInt32())); break; // BINSTRING
                    case (byte)'U': Push(Utf8(Byte())); break; // SHORT_BINSTRING
                    case (byte)'B': Push(Bytes(UInt32()).ToArray()); break; // BINBYTES
                    case (byte)'C': Push(Bytes(Byte()).ToArray()); break; // SHORT_BINBYTES
                    case (byte)'K': Push((long)Byte()); break; // BININT1
                    case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break; // BININT2
                    case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break; // BININT
                    case 0x8a: Push(Long(Byte())); break; // LONG1
                    case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                    case (byte)'N': Push(null); break; // NONE
                    case 0x88: Push(true); break; // NEWTRUE
                    case 0x89: Push(false); break; // NEWFALSE
                    case (byte)'c': Push(Resolve(Line(), Line())); break; // GLOBAL
                    case 0x93: { var name = Pop(); var module = Pop(); Push(Resolve(module as string ?? "?", name as string ?? "?")); break; } // STACK_GLOBAL
                    case (byte)'Q': Push(PersistentLoad(Pop())); break; // BINPERSID
                    case (byte)'R': { var args = Pop(); var f = Pop(); Push(Call(f, args)); break; } // REDUCE
                    case (byte)'b': Build(Pop()); break; // BUILD
                    case (byte)'s': { var v = Pop(); var k = Pop(); Dict(Peek()).Add(new(k, v)); break; } // SETITEM
                    case (byte)'u': SetItems(); break; // SETITEMS
                    case (byte)'a': { var v = Pop(); List(Peek()).Add(v); break; } // APPEND
                    case (byte)'e': { var items = PopToMark(); List(Peek()).AddRange(items); break; } // APPENDS
                    case (byte)'.': return Pop(); // STOP
                    default:
                        throw Fail($"unsupported pickle opcode 0x{op:x2} at byte {_pos - 1} (a plain state dict does not use it)");
                }
            }
        }

        private object Resolve(string module, string name)
        {
            var full = $"{module}.{name}";
            if (module == "torch" && StorageTypes.ContainsKey(name))
            {
                return new Global(name);
            }

            if (full is "torch._utils._rebuild_tensor_v2" or "torch._utils._rebuild_parameter" or "collections.OrderedDict")
            {
                return new Global(full);
            }

            throw Fail($"refuses pickle global '{full}': a checkpoint may only hold tensors " +
                       "(torch._utils._rebuild_tensor_v2, torch.*Storage, collections.OrderedDict)");
        }

        private StorageRef PersistentLoad(object? pid)
        {
            if (pid is object?[] { Length: 5 } t && t[0] as string == "storage" && t[1] is Global { Name: var type } &&
                StorageTypes.TryGetValue(type, out var dtype) && t[2] is string key && t[4] is long numel)
            {
                return new StorageRef(key, dtype, numel);
            }

            throw Fail("unsupported persistent id (expected ('storage', torch.<Type>Storage, key, location, numel))");
        }

        private object? Call(object? f, object? args)
        {
            var a = args as object?[] ?? throw Fail("REDUCE without an argument tuple");
            switch ((f as Global)?.Name)
            {
                case "collections.OrderedDict" when a.Length == 0:
                    return new PickleDict();
                case "torch._utils._rebuild_tensor_v2" when a.Length >= 4 && a[0] is StorageRef s && a[1] is long offset:
                    return new TensorRef(s, offset, Longs(a[2]), Longs(a[3]));
                case "torch._utils._rebuild_parameter" when a.Length >= 1 && a[0] is TensorRef t:
                    return t;
                default:
                    throw Fail($"refuses to call {Describe(f)} with {a.Length} argument(s)");
            }
        }

        private void Build(object? state)
        {
            // OrderedDict state (a state dict's _metadata attribute) carries no tensors: ignore it.
            if (Peek() is not PickleDict)
            {
                throw Fail($"BUILD on a {Describe(Peek())} (only dicts may carry state)");
            }

            _ = state;
        }

        private void SetItems()
        {
            var items = PopToMark();
            var dict = Dict(Peek());
            for (var i = 0; i + 1 < items.Count; i += 2)
            {
                dict.Add(new(items[i], items[i + 1]));
            }
        }

        private long[] Longs(object? o) =>
            o is object?[] t && t.All(x => x is long) ? t.Select(x => (long)x!).ToArray() : throw Fail("tensor size/stride is not a tuple of ints");

        private PickleDict Dict(object? o) => o as PickleDict ?? throw Fail($"SETITEM on a {Describe(o)}");

        private List<object?> List(object? o) => o as List<object?> ?? throw Fail($"APPEND on a {Describe(o)}");

        private object? Memo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Fail($"memo key {key} is not defined");

        private void Push(object? o) => _stack.Add(o);

        private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Fail("stack underflow");

        private object? Pop()
        {
            var o = Peek();
            _stack.RemoveAt(_stack.Count - 1);
            return o;
        }

        private List<object?> PopToMark()
        {
            var i = _stack.FindLastIndex(o => o is Mark);
            if (i < 0)
            {
                throw Fail("MARK expected");
            }

            var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
            _stack.RemoveRange(i, _stack.Count - i);
            return items;
        }

        private byte Byte() => Bytes(1)[0];

        private long UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

        private ReadOnlySpan<byte> Bytes(long n)
        {
            if (n < 0 || _pos + n > data.Length)
            {
                throw Fail("truncated pickle");
            }

            var span = data.AsSpan(_pos, (int)n);
            _pos += (int)n;
            return span;
        }

        private string Utf8(long n) => Encoding.UTF8.GetString(Bytes(n));

        private string Line()
        {
            var end = Array.IndexOf(data, (byte)'\n', _pos);
            if (end < 0)
            {
                throw Fail("truncated GLOBAL");
            }

            var s = Encoding.ASCII.GetString(data, _pos, end - _pos);
            _pos = end + 1;
            return s;
        }

        private long Long(int n)
        {
            var bytes = Bytes(n);
            if (n > 8)
            {
                throw Fail("integer too large");
            }

            long v = 0;
            for (var i = n - 1; i >= 0; i--)
            {
                v = (v << 8) | bytes[i];
            }

            // Two's complement sign extension.
            return n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0 ? v - (1L << (8 * n)) : v;
        }

        private AutoCircuitException Fail(string message) => new($"{path}: {message}.");
    }
}
