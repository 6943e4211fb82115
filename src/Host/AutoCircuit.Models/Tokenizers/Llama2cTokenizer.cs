using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using AutoCircuit.Engine;

namespace AutoCircuit.Models.Tokenizers;

/// <summary>
/// llama2.c's tokenizer (<c>tokenizer.bin</c>, e.g. <c>tok512.bin</c>): an int32 maximum token
/// length, then for every token a float32 score, an int32 byte length and the UTF-8 bytes of its
/// piece (SentencePiece's "▁" already turned into a space). Ids 0/1/2 are unk/BOS/EOS; pieces
/// <c>&lt;0xHH&gt;</c> (ids 3..258 in llama2.c's exports) are byte fallbacks.
/// </summary>
/// <remarks>
/// Encoding is llama2.c's: a dummy-prefix space for non-empty text, one token per UTF-8 code
/// point (its bytes as byte tokens when the code point is not a piece), then repeatedly merge the
/// adjacent pair whose concatenation is the highest-scoring piece (the first such pair on ties)
/// until no pair merges. Decoding drops BOS/EOS, turns byte tokens into bytes and removes the
/// dummy-prefix space of the first piece (and of the piece after a BOS), as llama2.c prints them.
/// </remarks>
internal sealed class Llama2cTokenizer : ITokenizer
{
    private readonly string[] _pieces;
    private readonly float[] _scores;
    private readonly byte?[] _byteValue;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    private Llama2cTokenizer(string path, string[] pieces, float[] scores)
    {
        Name = $"llama2.c tokenizer ({Path.GetFileName(path)})";
        _pieces = pieces;
        _scores = scores;
        _byteValue = new byte?[pieces.Length];
        for (var i = 0; i < pieces.Length; i++)
        {
            _ids.TryAdd(pieces[i], i);
            var p = pieces[i];
            if (p.Length == 6 && p.StartsWith("<0x", StringComparison.Ordinal) && p[5] == '>' &&
                byte.TryParse(p.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                _byteValue[i] = b;
            }
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int VocabSize => _pieces.Length;

    /// <inheritdoc />
    public int? BosId => 1;

    /// <inheritdoc />
    public int? EosId => 2;

    /// <inheritdoc />
    public int? PadId => null;

    /// <summary>Reads a llama2.c tokenizer file (every entry up to the end of the file).</summary>
    /// <param name="path">The file.</param>
    /// <param name="expectedVocab">The model's vocabulary size, checked when given.</param>
    /// <exception cref="AutoCircuitException">Malformed file, or a vocabulary size that differs from the model's.</exception>
    public static Llama2cTokenizer Load(string path, int? expectedVocab = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: tokenizer file not found.");
        }

        var data = File.ReadAllBytes(path);
        if (data.Length < 4)
        {
            throw new AutoCircuitException($"{path}: too short for a llama2.c tokenizer.");
        }

        var maxLen = BinaryPrimitives.ReadInt32LittleEndian(data);
        var pieces = new List<string>();
        var scores = new List<float>();
        var pos = 4;
        while (pos < data.Length)
        {
            if (pos + 8 > data.Length)
            {
                throw new AutoCircuitException($"{path}: truncated entry {pieces.Count} at byte {pos}.");
            }

            var score = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(pos));
            var len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(pos + 4));
            if (len < 0 || len > maxLen || pos + 8 + len > data.Length)
            {
                throw new AutoCircuitException(
                    $"{path}: entry {pieces.Count} at byte {pos} has length {len} (maximum {maxLen}, {data.Length - pos - 8} bytes left).");
            }

            pieces.Add(Encoding.UTF8.GetString(data, pos + 8, len));
            scores.Add(score);
            pos += 8 + len;
            if (expectedVocab is int n && pieces.Count == n)
            {
                break;
            }
        }

        if (expectedVocab is int v && pieces.Count != v)
        {
            throw new AutoCircuitException($"{path}: {pieces.Count} tokens, but the model's vocabulary has {v}.");
        }

        if (pieces.Count < 3)
        {
            throw new AutoCircuitException($"{path}: {pieces.Count} tokens; a llama2.c vocabulary starts with unk, BOS, EOS.");
        }

        return new Llama2cTokenizer(path, [.. pieces], [.. scores]);
    }

    /// <summary>BOS, then <see cref="Encode"/> (what Hugging Face's Llama tokenizer gives by default).</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) => BosId is int bos ? [bos, .. Encode(text)] : Encode(text);

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<int>();
        if (text.Length == 0)
        {
            return tokens;
        }

        tokens.Add(Lookup(" ") ?? throw new InvalidOperationException($"{Name} has no ' ' piece for the dummy prefix."));
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            if (Lookup(rune.ToString()) is int id)
            {
                tokens.Add(id);
                continue;
            }

            var n = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..n])
            {
                tokens.Add(b + 3); // byte fallback: ids 3..258
            }
        }

        while (true)
        {
            var (bestScore, bestId, bestIdx) = (float.NegativeInfinity, -1, -1);
            for (var i = 0; i + 1 < tokens.Count; i++)
            {
                if (Lookup(_pieces[tokens[i]] + _pieces[tokens[i + 1]]) is int merged && _scores[merged] > bestScore)
                {
                    (bestScore, bestId, bestIdx) = (_scores[merged], merged, i);
                }
            }

            if (bestIdx < 0)
            {
                return tokens;
            }

            tokens[bestIdx] = bestId;
            tokens.RemoveAt(bestIdx + 1);
        }
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        var atStart = true;
        foreach (var id in ids)
        {
            if (id < 0 || id >= _pieces.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id outside the vocabulary of {Name} (0..{_pieces.Length - 1}).");
            }

            if (id == BosId || id == EosId)
            {
                atStart = id == BosId;
                continue;
            }

            if (_byteValue[id] is byte b)
            {
                bytes.Add(b);
            }
            else
            {
                var piece = _pieces[id];
                bytes.AddRange(Encoding.UTF8.GetBytes(atStart && piece.StartsWith(' ') ? piece[1..] : piece));
            }

            atStart = false;
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <inheritdoc />
    public string TokenText(int id) =>
        _byteValue[id] is byte b ? Encoding.Latin1.GetString([b]) : _pieces[id];

    private int? Lookup(string piece) => _ids.TryGetValue(piece, out var id) ? id : null;
}
